"""The release verdict of one lot: pass, review or fail, with a one-line reason a quality manager
can act on, from the lot's figures over its carriage (loading to its handover). Pure.

The rules are the trip compliance verdict's (``logistream.coldchain.compliance.verdict``),
with the same thresholds and the same words, plus what only a lot has (its proof of delivery)
and what a release must not overlook (time its probes did not measure the air):

- ``fail``: the lot was rejected at proof of delivery; a hard temperature limit was passed; the
  time out of range reached the budget (``>=``, as the trip verdict and the speed layer's
  ``tor_budget`` alarm); or the MKT is above the range's upper limit.
- ``review``: any excursion or time out of range within the budget; any time of sensor faults
  (readings the air cannot have produced: the air went unmeasured); thin coverage, i.e. the
  carriage time without readings is at least the budget, long enough to have hidden a spent
  budget (the trip verdict's data-gap rule; coverage is the share of the carriage with readings).
- ``pass``: none of these ("always within range").

Choices:
- MKT above the upper limit fails a lot where it only sends a trip to review: releasing a lot
  is the decision the MKT of USP <1079.2> exists for, and an MKT above the labelled limit says
  the lot's whole heat dose exceeded storage at that limit, which no excursion allowance covers.
  The trip report, which describes a carriage rather than releases goods, keeps its verdict.
- The budget is the figures' own (``tor_budget_min``: the lot's allowance the figures were
  computed against); the profile gives the range's upper limit. With no budget (0), neither
  the budget rule nor the coverage rule applies, as in the trip verdict.
- The reason lists every finding of the deciding outcome, most actionable first (the
  receiver's rejection, then the temperature), joined by "; ", so one line shows all that must
  be answered. Findings of a milder outcome are left out: a failed lot is not released anyway.
- A lot with no reading at all over its carriage is ``review``, never ``pass``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logistream.registry import CargoProfile

Outcome = Literal["pass", "review", "fail"]


@dataclass(frozen=True, slots=True)
class LotFigures:
    """A lot's temperature figures from its loading to its handover (°C, minutes)."""

    lot: str
    probes: tuple[str, ...]
    """The probes whose readings the figures come from."""
    min_c: float | None
    max_c: float | None
    mkt_c: float | None
    """None: not computed (a frozen product, or no covered time)."""
    tor_min: float
    """Time out of range, summed over all excursions."""
    tor_budget_min: float
    excursions: int
    """Excursions above or below the range (critical ones are ``hard_limit_passed``)."""
    longest_excursion_min: float
    sensor_fault_min: float
    """Time of readings that failed the plausibility check (the air was not measured)."""
    coverage: float
    """Share of the carriage with readings standing for the air, 0 to 1."""
    carriage_min: float
    """Loading to handover."""
    rejected_at_pod: bool
    hard_limit_passed: bool = False
    readings: int = 1
    """Readings the figures come from (0, or a coverage of 0: nothing is known of the lot)."""
    pod_by: str = ""
    """Who rejected or accepted the lot at proof of delivery."""
    pod_stop: str = ""
    """Where the lot was handed over (the stop's name)."""
    pod_note: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str


def _check(fig: LotFigures) -> None:
    if not 0.0 <= fig.coverage <= 1.0:
        raise ValueError(f"lot {fig.lot}: coverage is a share from 0 to 1, not {fig.coverage}")
    minutes = {
        "tor_min": fig.tor_min,
        "tor_budget_min": fig.tor_budget_min,
        "longest_excursion_min": fig.longest_excursion_min,
        "sensor_fault_min": fig.sensor_fault_min,
        "carriage_min": fig.carriage_min,
    }
    for name, value in minutes.items():
        if value < 0:
            raise ValueError(f"lot {fig.lot}: {name} cannot be negative ({value})")


def _rejection(fig: LotFigures) -> str:
    where = f" at {fig.pod_stop}" if fig.pod_stop else ""
    who = f" by {fig.pod_by}" if fig.pod_by else ""
    note = f": {fig.pod_note}" if fig.pod_note else ""
    return f"rejected at proof of delivery{where}{who}{note}"


def _failures(fig: LotFigures, profile: CargoProfile) -> list[str]:
    budget = fig.tor_budget_min
    found = []
    if fig.rejected_at_pod:
        found.append(_rejection(fig))
    # The trip verdict's words (compliance.verdict), so the lot and its trip read alike.
    if fig.hard_limit_passed:
        found.append("a hard temperature limit was passed")
    if budget > 0 and fig.tor_min >= budget:
        found.append(f"out of range {fig.tor_min:.0f} min, budget {budget:.0f} min spent")
    if fig.mkt_c is not None and fig.mkt_c > profile.high_c:
        found.append(f"MKT {fig.mkt_c:.2f} °C above the {profile.high_c:g} °C limit")
    return found


def _reviews(fig: LotFigures) -> list[str]:
    budget = fig.tor_budget_min
    found = []
    if fig.readings <= 0 or fig.coverage == 0.0:
        return ["no readings over the carriage: the lot's temperature is unknown"]
    if fig.excursions or fig.tor_min > 0:
        found.append(
            f"excursions within budget: out of range {fig.tor_min:.1f} min"
            + (
                f" ({fig.excursions} excursion{'s' if fig.excursions != 1 else ''}, "
                f"longest {fig.longest_excursion_min:.1f} min)"
                if fig.excursions
                else ""
            )
        )
    if fig.sensor_fault_min > 0:
        found.append(f"sensor faults for {fig.sensor_fault_min:.1f} min: the air was not measured")
    uncovered = (1.0 - fig.coverage) * fig.carriage_min
    if budget > 0 and uncovered >= budget:
        found.append(f"{uncovered:.0f} min without readings could hide a spent budget")
    return found


def release_verdict(fig: LotFigures, profile: CargoProfile) -> Verdict:
    """Pass, review or fail for the lot, with the reason (see the module's rules)."""
    _check(fig)
    failures = _failures(fig, profile)
    if failures:
        return Verdict("fail", "; ".join(failures))
    reviews = _reviews(fig)
    if reviews:
        return Verdict("review", "; ".join(reviews))
    return Verdict("pass", "always within range")
