"""Trip compliance: temperature statistics, excursions, MKT and the verdict, from one profile.

Verdict (the profile's rules from the registry):
- ``fail``: a hard limit was passed, or the time out of range reached the budget
  (``tor_budget_s``; the speed layer's ``tor_budget`` alarm fires at the same moment);
- ``review``: any excursion or time out of range within the budget; or the MKT is above the
  range's upper limit; or the uncovered time (data gaps) is at least the budget, long enough
  to have hidden a spent budget;
- ``pass``: none of these.
Readings that fail the sensor plausibility check stand for the air as last seen (see
:mod:`excursions`): they neither make excursions nor enter the MKT and the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from logistream.coldchain.excursions import Excursion, Sample, classify, extract, tor_alarm_at
from logistream.coldchain.mkt import mkt_weighted
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.registry import CargoProfile

Verdict = Literal["pass", "review", "fail"]


@dataclass(frozen=True, slots=True)
class Compliance:
    readings: int
    min_c: float
    max_c: float
    mean_c: float | None
    """Time-weighted mean; None if the trip has no covered time."""
    above_s: float
    below_s: float
    tor_s: float
    defrost_s: float
    covered_s: float
    gap_s: float
    mkt_c: float | None
    hard_limit_passed: bool
    tor_alarm_at: float | None
    excursions: tuple[Excursion, ...]
    verdict: Verdict
    reason: str
    implausible: int = 0
    """Readings that failed the sensor plausibility check."""


def verdict(
    *,
    profile: CargoProfile,
    tor_s: float,
    hard_limit_passed: bool,
    excursions: int,
    mkt_c: float | None,
    gap_s: float,
) -> tuple[Verdict, str]:
    """The verdict and a one-line reason a quality manager can read."""
    budget = profile.tor_budget_s
    if hard_limit_passed:
        return "fail", "a hard temperature limit was passed"
    if budget > 0 and tor_s >= budget:
        return "fail", f"out of range {tor_s / 60:.0f} min, budget {budget / 60:.0f} min spent"
    if excursions or tor_s > 0:
        return "review", f"excursions within budget: out of range {tor_s / 60:.1f} min"
    if mkt_c is not None and mkt_c > profile.high_c:
        return "review", f"MKT {mkt_c:.2f} °C above the {profile.high_c:g} °C limit"
    if budget > 0 and gap_s >= budget:
        return "review", f"{gap_s / 60:.0f} min without readings could hide a spent budget"
    return "pass", "always within range"


def trip_compliance(
    samples: Sequence[Sample],
    profile: CargoProfile,
    hold_max_s: float,
    *,
    confirm_readings: int = DEFAULT_PARAMS.critical_confirm_readings,
    confirm_s: float = DEFAULT_PARAMS.critical_confirm_s,
    clear_s: float = DEFAULT_PARAMS.critical_clear_s,
) -> Compliance:
    """Everything the trip compliance view holds for one trip (readings in any order)."""
    if not samples:
        raise ValueError("a trip has at least one reading")
    rows = classify(samples, profile, hold_max_s)
    excursions = tuple(
        extract(
            rows,
            profile,
            confirm_readings=confirm_readings,
            confirm_s=confirm_s,
            clear_s=clear_s,
        )
    )
    covered = sum(c.weight_s for c in rows)
    # What the rules see; a trip with no plausible reading at all shows its raw extremes.
    seen = [(c.temp, c.weight_s) for c in rows if c.temp is not None]
    temps = [t for t, _ in seen]
    weights = [w for _, w in seen]
    temp_covered = sum(weights)
    mean = sum(t * w for t, w in seen) / temp_covered if temp_covered else None
    extremes = temps or [c.sample.temp for c in rows]
    mkt = (
        mkt_weighted(temps, weights, profile.activation_energy_kj_mol)
        if profile.mkt_enabled
        else None
    )
    above = sum(c.weight_s for c in rows if c.above)
    below = sum(c.weight_s for c in rows if c.below)
    gap = sum(c.uncovered_s for c in rows)
    hard = any(c.beyond_hard for c in rows)
    v, why = verdict(
        profile=profile,
        tor_s=above + below,
        hard_limit_passed=hard,
        excursions=sum(1 for e in excursions if e.kind != "critical"),
        mkt_c=mkt,
        gap_s=gap,
    )
    return Compliance(
        readings=len(rows),
        min_c=min(extremes),
        max_c=max(extremes),
        mean_c=mean,
        above_s=above,
        below_s=below,
        tor_s=above + below,
        defrost_s=sum(c.weight_s for c in rows if c.sample.defrost),
        covered_s=covered,
        gap_s=gap,
        mkt_c=mkt,
        hard_limit_passed=hard,
        tor_alarm_at=tor_alarm_at(rows, profile),
        excursions=excursions,
        verdict=v,
        reason=why,
        implausible=sum(1 for c in rows if not c.plausible),
    )
