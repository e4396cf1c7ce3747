"""The batch layer's thresholds, shared by the pure maths and the SQL that does the same sums.

Temperature limits, delays, hysteresis, budgets and the defrost allowance come from the cargo
profiles in the registry. Where the speed layer's rules.toml decides the same thing (speed
limit, harsh driving, gaps, fuel), ``params_from_rules`` takes its values, so that the two layers
never disagree (a mismatch would show up as noise in the reconciliation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from logistream.registry.rules import RulesConfig


@dataclass(frozen=True, slots=True)
class BatchParams:
    hold_max_s: float = 900.0
    """A reading stands for the air until the next one, but for at most this long (the speed
    layer's ``tor_max_gap_min``); the rest of a longer silence is uncovered time (a gap)."""
    gap_s: float = 600.0
    """Readings further apart than this are a data gap (the speed layer's ``offline_min``)."""
    speed_limit_kmh: float = 80.0
    parked_kmh: float = 2.0
    harsh_braking_ms2: float = 3.5
    harsh_acceleration_ms2: float = 3.0
    accel_max_gap_s: float = 5.0
    """Only readings at most this far apart give an acceleration (1 Hz telemetry needed)."""
    max_step_kmh: float = 200.0
    """A step between consecutive readings faster than this (beyond ``gps_slack_km`` of position
    noise) is a jump, not driving: a relocated truck or a bad fix. It adds no distance."""
    gps_slack_km: float = 0.1
    """GPS noise a step may carry on top of ``max_step_kmh`` (fixes a fraction of a second
    apart)."""
    fuel_smooth_s: float = 300.0
    """Fuel gauges are noisy: levels are a trailing mean over this window before differencing."""
    event_merge_s: float = 60.0
    """Readings within this of a refuelling or unexplained step belong to the same event: the
    smoothed rate dips below the threshold now and then, and an event's edges count too."""
    refuel_rate_l_per_min: float = 2.0
    refuel_min_l: float = 20.0
    theft_rate_l_per_min: float = 2.0
    """A fall faster than consumption explains by this rate is unexplained (pumps do 8+ L/min)."""
    theft_min_l: float = 20.0
    drive_l_per_km_max: float = 0.5
    """Consumption that a moving truck may explain: engine at most this per km ..."""
    idle_l_per_h: float = 4.0
    """... plus the reefer and idling at most this per hour (speed layer: idle_litres_per_h)."""
    reefer_min_h: float = 0.5
    """Parked time with the reefer on needed before a reefer L/h figure is given."""
    default_tank_litres: float = 400.0
    critical_confirm_readings: int = 2
    """Plausible readings beyond a hard limit that confirm a critical (speed layer: the same)."""
    critical_confirm_s: float = 0.0
    """... and for at least this long since the first reading beyond it."""
    critical_clear_s: float = 300.0
    """A critical excursion ends no sooner than this after its last reading beyond the hard
    limit (and after ``critical_confirm_readings`` plausible readings back inside)."""
    alert_tolerance_s: float = 60.0
    """An alert this much later than the batch layer's alarm time (event time) is late."""


DEFAULT_PARAMS: Final = BatchParams()
"""The thresholds of the shipped rules: the batch layer's agree with the speed layer's rules.toml
where both decide the same thing (a drift would show up as false disagreements in the
reconciliation of the two)."""


def params_from_rules(rules: RulesConfig, base: BatchParams = DEFAULT_PARAMS) -> BatchParams:
    """``base`` with every threshold that the speed layer's rules also decide taken from
    ``rules``, so that one rules file (``LOGISTREAM_RULES_FILE``) sets both layers."""
    return replace(
        base,
        hold_max_s=rules.temperature.tor_max_gap_s,
        critical_confirm_readings=rules.temperature.critical_confirm_readings,
        critical_confirm_s=rules.temperature.critical_confirm_s,
        critical_clear_s=rules.temperature.critical_clear_s,
        gap_s=rules.offline.offline_s,
        speed_limit_kmh=rules.driving.speed_limit_kmh,
        parked_kmh=rules.fuel.parked_kmh,
        harsh_braking_ms2=rules.driving.harsh_braking_ms2,
        harsh_acceleration_ms2=rules.driving.harsh_acceleration_ms2,
        accel_max_gap_s=rules.driving.max_gap_s,
        idle_l_per_h=rules.fuel.idle_litres_per_h,
        theft_min_l=rules.fuel.theft_min_litres,
        default_tank_litres=rules.fuel.default_tank_litres,
    )
