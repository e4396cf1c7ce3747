"""The batch layer's thresholds agree with the speed layer's shipped rules where both decide the
same thing: a drift would show up as false disagreements in the reconciliation of the two."""

from __future__ import annotations

from pathlib import Path

from logistream.batch.views.params import DEFAULT_PARAMS, params_from_rules
from logistream.batch.views.recompute import configured_params
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


def test_the_shipped_rules_give_the_default_batch_thresholds() -> None:
    assert params_from_rules(load_rules_config()) == DEFAULT_PARAMS


def test_one_rules_file_sets_the_thresholds_of_both_layers(tmp_path: Path) -> None:
    """LOGISTREAM_RULES_FILE (or `speed --rules`) with a lower speed limit and a shorter gap:
    the batch views use the same values; thresholds only the batch has keep their defaults."""
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        "[driving]\nspeed_limit_kmh = 60\nharsh_braking_ms2 = 4.0\n[offline]\noffline_min = 20\n"
    )
    batch = configured_params(rules_file)
    assert batch.speed_limit_kmh == 60.0
    assert batch.harsh_braking_ms2 == 4.0
    assert batch.gap_s == 1200.0
    assert batch.refuel_min_l == DEFAULT_PARAMS.refuel_min_l
    assert configured_params(None) == DEFAULT_PARAMS
