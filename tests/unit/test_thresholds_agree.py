"""The batch layer's thresholds agree with the speed layer's shipped rules where both decide the
same thing: a drift would show up as false disagreements in the reconciliation of the two."""

from __future__ import annotations

from logistream.batch.views.params import DEFAULT_PARAMS
from logistream.speed.rules import load_rules_config


def test_batch_params_match_the_shipped_speed_rules() -> None:
    rules = load_rules_config()
    batch = DEFAULT_PARAMS
    pairs = {
        "a reading holds the air for at most": (batch.hold_max_s, rules.temperature.tor_max_gap_s),
        "silence that makes a gap / sensor_offline": (batch.gap_s, rules.offline.offline_s),
        "speed limit": (batch.speed_limit_kmh, rules.driving.speed_limit_kmh),
        "parked below": (batch.parked_kmh, rules.fuel.parked_kmh),
        "harsh braking": (batch.harsh_braking_ms2, rules.driving.harsh_braking_ms2),
        "harsh acceleration": (batch.harsh_acceleration_ms2, rules.driving.harsh_acceleration_ms2),
        "readings close enough for an acceleration": (
            batch.accel_max_gap_s,
            rules.driving.max_gap_s,
        ),
        "idle and reefer litres per hour": (batch.idle_l_per_h, rules.fuel.idle_litres_per_h),
        "smallest theft": (batch.theft_min_l, rules.fuel.theft_min_litres),
        "tank when the fleet file has none": (
            batch.default_tank_litres,
            rules.fuel.default_tank_litres,
        ),
    }
    differ = {what: pair for what, pair in pairs.items() if pair[0] != pair[1]}
    assert not differ, f"batch/views/params.py and speed/rules.toml disagree: {differ}"
