"""A trip of several probes gets the verdict of its worst probe, the reason naming it; and the
SQL orders probes the same way (the integration test checks the SQL on real readings)."""

from __future__ import annotations

import pytest

from logistream.batch.views.probes import (
    ProbeVerdict,
    probe_label,
    trip_verdict,
    worst_probe,
)
from logistream.batch.views.view_sql import PROBE_LABEL_SQL, WORST_FIRST_SQL


def test_the_worst_verdict_decides_and_the_reason_names_its_probe() -> None:
    probes = [
        ProbeVerdict("front", "pass", "always within range"),
        ProbeVerdict("rear", "fail", "out of range 70 min, budget 60 min spent", tor_s=4200),
        ProbeVerdict("return", "review", "excursions within budget: out of range 3.0 min"),
    ]
    assert worst_probe(probes).probe_id == "rear"
    assert trip_verdict(probes) == ("fail", "rear probe: out of range 70 min, budget 60 min spent")
    # The order the probes come in does not matter.
    assert trip_verdict(list(reversed(probes))) == trip_verdict(probes)


def test_between_equal_verdicts_the_longer_time_out_of_range_decides() -> None:
    a = ProbeVerdict("a", "review", "within budget: 2.0 min", tor_s=120, excursions=1)
    b = ProbeVerdict("b", "review", "within budget: 9.0 min", tor_s=540, excursions=1)
    assert worst_probe([a, b]) is b
    hard = ProbeVerdict("c", "fail", "a hard temperature limit was passed", hard_limit_passed=True)
    spent = ProbeVerdict("d", "fail", "out of range 90 min", tor_s=5400)
    assert worst_probe([spent, hard]) is hard
    # Then more excursions, then the higher MKT, then the name.
    many = ProbeVerdict("e", "review", "x", tor_s=60, excursions=3)
    few = ProbeVerdict("f", "review", "x", tor_s=60, excursions=1)
    assert worst_probe([few, many]) is many
    warm = ProbeVerdict("g", "review", "x", mkt_c=8.4)
    cold = ProbeVerdict("h", "review", "x", mkt_c=None)
    assert worst_probe([cold, warm]) is warm
    assert worst_probe(
        [ProbeVerdict("z", "pass", "x"), ProbeVerdict("y", "pass", "x")]
    ).probe_id == ("y")


def test_a_single_unnamed_probe_keeps_its_reason_as_it_was() -> None:
    only = ProbeVerdict("", "review", "excursions within budget: out of range 4.0 min")
    assert trip_verdict([only]) == ("review", "excursions within budget: out of range 4.0 min")
    named = ProbeVerdict("front", "pass", "always within range")
    assert trip_verdict([named]) == ("pass", "front probe: always within range")
    unnamed_among_others = [only, ProbeVerdict("rear", "pass", "always within range")]
    assert trip_verdict(unnamed_among_others)[1].startswith("unnamed probe: ")


def test_labels_and_order_are_stated_the_same_way_in_sql() -> None:
    assert probe_label("rear") == "rear probe"
    assert probe_label("") == "unnamed probe"
    assert "'unnamed probe'" in PROBE_LABEL_SQL
    assert "' probe'" in PROBE_LABEL_SQL
    keys = [k.strip() for k in WORST_FIRST_SQL.split("END,")[1].split(",")]
    assert keys == [
        "hard_limit_passed DESC",
        "tor_s DESC",
        "excursions DESC",
        "mkt_c DESC NULLS LAST",
        "probe_id",
    ]


def test_a_trip_without_probes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one probe"):
        worst_probe([])
