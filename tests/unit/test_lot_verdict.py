"""The release verdict of a lot: each outcome and its reason, by hand, and the same words as the
trip compliance verdict where both judge the same figures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from logistream.coldchain.compliance import verdict as trip_verdict
from logistream.registry import load_registry
from logistream.shipments.verdict import LotFigures, Verdict, release_verdict

VACCINES = load_registry().cargo["vaccines"]  # 2–8 °C, budget 60 min
FROZEN = load_registry().cargo["frozen"]

CLEAN = LotFigures(
    lot="MR-2611",
    probes=("front", "rear"),
    min_c=4.1,
    max_c=6.3,
    mkt_c=5.2,
    tor_min=0.0,
    tor_budget_min=60.0,
    excursions=0,
    longest_excursion_min=0.0,
    sensor_fault_min=0.0,
    coverage=1.0,
    carriage_min=480.0,
    rejected_at_pod=False,
    readings=960,
)


def _lot(**changes: object) -> LotFigures:
    return replace(CLEAN, **changes)  # type: ignore[arg-type]


def test_a_lot_always_within_range_passes() -> None:
    assert release_verdict(CLEAN, VACCINES) == Verdict("pass", "always within range")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"rejected_at_pod": True, "pod_by": "J. Otieno", "pod_stop": "Kisumu depot"},
            "rejected at proof of delivery at Kisumu depot by J. Otieno",
        ),
        (
            {"rejected_at_pod": True, "pod_note": "cartons warm to the touch"},
            "rejected at proof of delivery: cartons warm to the touch",
        ),
        ({"hard_limit_passed": True, "max_c": 12.4}, "a hard temperature limit was passed"),
        (
            {"tor_min": 60.0, "excursions": 2, "longest_excursion_min": 41.0},
            "out of range 60 min, budget 60 min spent",
        ),
        ({"mkt_c": 8.31}, "MKT 8.31 °C above the 8 °C limit"),
    ],
)
def test_each_failure_and_its_reason(changes: dict[str, object], reason: str) -> None:
    assert release_verdict(_lot(**changes), VACCINES) == Verdict("fail", reason)


def test_a_lot_failing_on_several_counts_names_them_all_rejection_first() -> None:
    fig = _lot(
        rejected_at_pod=True,
        pod_by="J. Otieno",
        tor_min=75.0,
        excursions=1,
        longest_excursion_min=75.0,
        sensor_fault_min=4.0,  # a review finding: left out of a failed lot's reason
    )
    assert release_verdict(fig, VACCINES) == Verdict(
        "fail",
        "rejected at proof of delivery by J. Otieno; out of range 75 min, budget 60 min spent",
    )


def test_the_budget_is_reached_at_the_budget_not_after_it() -> None:
    # 59.9 min is within the budget of 60 (review); 60.0 has spent it (fail), as on a trip.
    assert release_verdict(_lot(tor_min=59.9, excursions=1), VACCINES).outcome == "review"
    assert release_verdict(_lot(tor_min=60.0, excursions=1), VACCINES).outcome == "fail"
    # The lot's own budget decides, here a stricter one than the profile's 60 min.
    assert release_verdict(_lot(tor_min=31.0, tor_budget_min=30.0), VACCINES) == Verdict(
        "fail", "out of range 31 min, budget 30 min spent"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"tor_min": 12.5, "excursions": 1, "longest_excursion_min": 12.5},
            "excursions within budget: out of range 12.5 min (1 excursion, longest 12.5 min)",
        ),
        (
            {"tor_min": 31.0, "excursions": 3, "longest_excursion_min": 18.0},
            "excursions within budget: out of range 31.0 min (3 excursions, longest 18.0 min)",
        ),
        ({"sensor_fault_min": 2.5}, "sensor faults for 2.5 min: the air was not measured"),
        # 480 min of carriage, 12.5 % without readings: 60 min, the budget, could hide it.
        ({"coverage": 0.875}, "60 min without readings could hide a spent budget"),
        (
            {"coverage": 0.0, "readings": 0, "mkt_c": None, "min_c": None, "max_c": None},
            "no readings over the carriage: the lot's temperature is unknown",
        ),
    ],
)
def test_each_review_and_its_reason(changes: dict[str, object], reason: str) -> None:
    assert release_verdict(_lot(**changes), VACCINES) == Verdict("review", reason)


def test_coverage_just_thinner_than_fine_passes_and_several_reviews_are_all_named() -> None:
    # 59 min uncovered is less than the budget: no review for coverage.
    assert release_verdict(_lot(coverage=1 - 59 / 480), VACCINES).outcome == "pass"
    both = release_verdict(_lot(sensor_fault_min=1.0, coverage=0.5), VACCINES)
    assert both == Verdict(
        "review",
        "sensor faults for 1.0 min: the air was not measured; "
        "240 min without readings could hide a spent budget",
    )


def test_a_frozen_lot_has_no_mkt_and_is_judged_on_the_rest() -> None:
    frozen = _lot(mkt_c=None, min_c=-22.0, max_c=-19.0, tor_budget_min=120.0)
    assert release_verdict(frozen, FROZEN) == Verdict("pass", "always within range")
    assert release_verdict(replace(frozen, tor_min=120.0), FROZEN).outcome == "fail"


def test_figures_that_cannot_be_are_refused() -> None:
    with pytest.raises(ValueError, match="coverage is a share"):
        release_verdict(_lot(coverage=1.2), VACCINES)
    with pytest.raises(ValueError, match="tor_min cannot be negative"):
        release_verdict(_lot(tor_min=-1.0), VACCINES)


@pytest.mark.parametrize(
    ("changes", "trip_figures"),
    [
        ({"hard_limit_passed": True}, {"hard_limit_passed": True}),
        ({"tor_min": 75.0, "excursions": 1}, {"tor_s": 4500.0, "excursions": 1}),
        ({"tor_min": 12.5}, {"tor_s": 750.0}),
        ({"coverage": 0.75}, {"gap_s": 7200.0}),
        ({}, {}),
    ],
)
def test_the_lot_reads_as_its_trip_where_both_judge_the_same_figures(
    changes: dict[str, object], trip_figures: dict[str, object]
) -> None:
    """Same thresholds and words as the trip compliance verdict (the lot's reason may add
    detail after them); this keeps the two in step if either changes."""
    args: dict[str, object] = {
        "tor_s": 0.0,
        "hard_limit_passed": False,
        "excursions": 0,
        "mkt_c": 5.2,
        "gap_s": 0.0,
    }
    args.update(trip_figures)
    trip_outcome, trip_reason = trip_verdict(profile=VACCINES, **args)  # type: ignore[arg-type]
    lot = release_verdict(_lot(**changes), VACCINES)
    assert lot.outcome == trip_outcome
    assert lot.reason.startswith(trip_reason)
