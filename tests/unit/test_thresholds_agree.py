"""The batch layer's thresholds agree with the speed layer's shipped rules where both decide the
same thing: a drift would show up as false disagreements in the reconciliation of the two."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from logistream.batch.views.recompute import configured_params
from logistream.coldchain.params import DEFAULT_PARAMS, BatchParams, params_from_rules
from logistream.registry.rules import RulesConfig, load_rules_config

SHARED_KEYS = {
    # batch field: (rules.toml section, key, factor from the file's unit to the batch's)
    "hold_max_s": ("temperature", "tor_max_gap_min", 60.0),
    "critical_confirm_readings": ("temperature", "critical_confirm_readings", 1.0),
    "critical_confirm_s": ("temperature", "critical_confirm_s", 1.0),
    "critical_clear_s": ("temperature", "critical_clear_s", 1.0),
    "gap_s": ("offline", "offline_min", 60.0),
    "speed_limit_kmh": ("driving", "speed_limit_kmh", 1.0),
    "parked_kmh": ("fuel", "parked_kmh", 1.0),
    "harsh_braking_ms2": ("driving", "harsh_braking_ms2", 1.0),
    "harsh_acceleration_ms2": ("driving", "harsh_acceleration_ms2", 1.0),
    "accel_max_gap_s": ("driving", "max_gap_s", 1.0),
    "idle_l_per_h": ("fuel", "idle_litres_per_h", 1.0),
    "theft_min_l": ("fuel", "theft_min_litres", 1.0),
    "default_tank_litres": ("fuel", "default_tank_litres", 1.0),
}
"""Every threshold both layers decide, and where the shipped rules.toml writes it."""


def _nudged(config: Any) -> Any:
    """``config`` with every number in it (nested dataclasses too) one larger."""
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            changes[item.name] = _nudged(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            changes[item.name] = value + 1
    return dataclasses.replace(config, **changes)


def test_the_shipped_rules_file_writes_every_shared_threshold_the_batch_uses() -> None:
    """Read from the file itself, not through the loader, whose defaults would hide a key
    missing from (or misspelt in) the shipped file."""
    text = resources.files("logistream.registry").joinpath("data", "rules.toml").read_text()
    shipped = tomllib.loads(text)
    for batch_field, (section, key, factor) in SHARED_KEYS.items():
        assert key in shipped.get(section, {}), f"rules.toml [{section}] has no {key}"
        in_file = float(shipped[section][key]) * factor
        assert getattr(DEFAULT_PARAMS, batch_field) == in_file, (
            f"batch {batch_field}={getattr(DEFAULT_PARAMS, batch_field)} but rules.toml "
            f"[{section}] {key}={shipped[section][key]}"
        )


def test_the_batch_takes_exactly_the_shared_thresholds_from_the_rules() -> None:
    """A threshold added to ``params_from_rules`` without being listed here (or listed and no
    longer taken from the rules) fails: every number of the rules is changed, and just the
    listed batch fields follow."""
    changed = params_from_rules(_nudged(RulesConfig()))
    followed = {
        item.name
        for item in dataclasses.fields(BatchParams)
        if getattr(changed, item.name) != getattr(DEFAULT_PARAMS, item.name)
    }
    assert followed == set(SHARED_KEYS)


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
