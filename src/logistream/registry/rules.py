"""The rules' thresholds, read from ``rules.toml`` (shipped in ``registry/data``, or a user's).

Durations are converted to seconds of event time here, so the rules never see minutes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from logistream.errors import ConfigError
from logistream.events import RULE_NAMES, SEVERITY_ORDER, Severity


@dataclass(frozen=True, slots=True)
class TemperatureConfig:
    tor_max_gap_s: float = 900.0
    critical_confirm_readings: int = 2
    """Plausible readings beyond a hard limit needed before ``temp_critical`` opens."""
    critical_confirm_s: float = 0.0
    """... and for at least this long since the first of them."""
    critical_clear_s: float = 300.0
    """``temp_critical`` resolves only this long after the last reading beyond a hard limit
    (and after ``critical_confirm_readings`` plausible readings back inside)."""


@dataclass(frozen=True, slots=True)
class TrendConfig:
    window_s: float = 900.0
    horizon_s: float = 1800.0
    min_points: int = 5
    min_span_s: float = 300.0
    sample_s: float = 20.0
    min_slope_c_per_h: float = 1.0
    confidence: float = 0.999
    sub_windows_s: tuple[float, ...] = (300.0, 600.0)
    clear_factor: float = 1.5
    skip_profiles: frozenset[str] = frozenset({"default"})


@dataclass(frozen=True, slots=True)
class DoorConfig:
    open_max_s: float = 600.0
    moving_kmh: float = 5.0


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    offline_s: float = 600.0
    watermark_lateness_s: float = 60.0
    inactive_after_s: float = 86_400.0
    trip_end_km: float = 2.0
    parked_kmh: float = 2.0


@dataclass(frozen=True, slots=True)
class BackfillConfig:
    min_gap_s: float = 90.0
    settle_s: float = 600.0


@dataclass(frozen=True, slots=True)
class FuelConfig:
    low_pct: float = 15.0
    low_clear_pct: float = 20.0
    parked_kmh: float = 2.0
    idle_litres_per_h: float = 4.0
    theft_min_litres: float = 20.0
    default_tank_litres: float = 400.0


@dataclass(frozen=True, slots=True)
class DrivingConfig:
    speed_limit_kmh: float = 80.0
    speeding_s: float = 30.0
    speeding_clear_kmh: float = 75.0
    harsh_braking_ms2: float = 3.5
    harsh_acceleration_ms2: float = 3.0
    max_gap_s: float = 5.0
    quiet_s: float = 300.0


@dataclass(frozen=True, slots=True)
class RouteConfig:
    deviation_km: float = 5.0
    clear_km: float = 3.0
    min_readings: int = 2


def _default_severity() -> dict[str, Severity]:
    return {
        "temp_critical": "critical",
        "temp_high": "major",
        "temp_low": "major",
        "tor_budget": "major",
        "temp_rising": "warning",
        "door_open": "minor",
        "sensor_offline": "major",
        "fuel_theft": "major",
        "fuel_low": "minor",
        "speeding": "minor",
        "harsh_braking": "warning",
        "harsh_acceleration": "warning",
        "route_deviation": "minor",
        "sensor_fault": "minor",
        "calibration_overdue": "minor",
        "not_precooled": "major",
        "eta_late": "minor",
        "lot_rejected": "major",
    }


@dataclass(frozen=True, slots=True)
class ShipmentConfig:
    dwell_in_s: float = 120.0
    """How long a truck stays inside a stop's geofence before it counts as arrived."""
    dwell_out_s: float = 120.0
    """How long it stays outside before it counts as left."""
    precool_s: float = 1800.0
    """How long the cargo air must have been in range before loading (``not_precooled``)."""


@dataclass(frozen=True, slots=True)
class RulesConfig:
    severity: dict[str, Severity] = field(default_factory=_default_severity)
    temperature: TemperatureConfig = TemperatureConfig()
    trend: TrendConfig = TrendConfig()
    door: DoorConfig = DoorConfig()
    offline: OfflineConfig = OfflineConfig()
    backfill: BackfillConfig = BackfillConfig()
    fuel: FuelConfig = FuelConfig()
    driving: DrivingConfig = DrivingConfig()
    route: RouteConfig = RouteConfig()
    shipments: ShipmentConfig = ShipmentConfig()


def _num(table: dict[str, Any], key: str, default: float, scale: float = 1.0) -> float:
    value = table.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"rules.toml: {key} must be a number (got {value!r})")
    return float(value) * scale


def _confidence(trend: dict[str, Any]) -> float:
    value = _num(trend, "confidence", 0.999)
    if not 0.5 <= value < 1.0:
        raise ConfigError(f"rules.toml [trend] confidence must be in [0.5, 1) (got {value})")
    return value


def parse_rules_config(data: dict[str, Any]) -> RulesConfig:
    """Build the configuration from parsed TOML; missing keys keep their defaults."""
    severity = _default_severity()
    for rule, level in data.get("severity", {}).items():
        if rule not in RULE_NAMES:
            raise ConfigError(f"rules.toml [severity]: unknown rule {rule!r}")
        if level not in SEVERITY_ORDER:
            raise ConfigError(f"rules.toml [severity] {rule}: {level!r} is not a severity")
        severity[rule] = level
    t, tr, d = data.get("temperature", {}), data.get("trend", {}), data.get("door", {})
    o, f, dr = data.get("offline", {}), data.get("fuel", {}), data.get("driving", {})
    r, b, sh = data.get("route", {}), data.get("backfill", {}), data.get("shipments", {})
    return RulesConfig(
        severity=severity,
        temperature=TemperatureConfig(
            tor_max_gap_s=_num(t, "tor_max_gap_min", 15, 60),
            critical_confirm_readings=max(1, int(_num(t, "critical_confirm_readings", 2))),
            critical_confirm_s=_num(t, "critical_confirm_s", 0),
            critical_clear_s=_num(t, "critical_clear_s", 300),
        ),
        trend=TrendConfig(
            window_s=_num(tr, "window_min", 15, 60),
            horizon_s=_num(tr, "horizon_min", 30, 60),
            min_points=int(_num(tr, "min_points", 5)),
            min_span_s=_num(tr, "min_span_min", 5, 60),
            sample_s=_num(tr, "sample_s", 20),
            min_slope_c_per_h=_num(tr, "min_slope_c_per_h", 1.0),
            confidence=_confidence(tr),
            sub_windows_s=tuple(
                _num({"sub_windows_min": m}, "sub_windows_min", 1, 60)
                for m in tr.get("sub_windows_min", [5, 10])
            ),
            clear_factor=_num(tr, "clear_factor", 1.5),
            skip_profiles=frozenset(tr.get("skip_profiles", ["default"])),
        ),
        door=DoorConfig(
            open_max_s=_num(d, "open_max_min", 10, 60), moving_kmh=_num(d, "moving_kmh", 5)
        ),
        offline=OfflineConfig(
            offline_s=_num(o, "offline_min", 10, 60),
            watermark_lateness_s=_num(o, "watermark_lateness_s", 60),
            inactive_after_s=_num(o, "inactive_after_h", 24, 3600),
            trip_end_km=_num(o, "trip_end_km", 2.0),
            parked_kmh=_num(o, "parked_kmh", 2.0),
        ),
        backfill=BackfillConfig(
            min_gap_s=_num(b, "min_gap_s", 90), settle_s=_num(b, "settle_min", 10, 60)
        ),
        fuel=FuelConfig(
            low_pct=_num(f, "low_pct", 15),
            low_clear_pct=_num(f, "low_clear_pct", 20),
            parked_kmh=_num(f, "parked_kmh", 2),
            idle_litres_per_h=_num(f, "idle_litres_per_h", 4),
            theft_min_litres=_num(f, "theft_min_litres", 20),
            default_tank_litres=_num(f, "default_tank_litres", 400),
        ),
        driving=DrivingConfig(
            speed_limit_kmh=_num(dr, "speed_limit_kmh", 80),
            speeding_s=_num(dr, "speeding_s", 30),
            speeding_clear_kmh=_num(dr, "speeding_clear_kmh", 75),
            harsh_braking_ms2=_num(dr, "harsh_braking_ms2", 3.5),
            harsh_acceleration_ms2=_num(dr, "harsh_acceleration_ms2", 3.0),
            max_gap_s=_num(dr, "max_gap_s", 5),
            quiet_s=_num(dr, "quiet_min", 5, 60),
        ),
        route=RouteConfig(
            deviation_km=_num(r, "deviation_km", 5.0),
            clear_km=_num(r, "clear_km", 3.0),
            min_readings=int(_num(r, "min_readings", 2)),
        ),
        shipments=ShipmentConfig(
            dwell_in_s=_num(sh, "dwell_in_s", 120),
            dwell_out_s=_num(sh, "dwell_out_s", 120),
            precool_s=_num(sh, "precool_min", 30, 60),
        ),
    )


def load_rules_config(path: Path | None = None) -> RulesConfig:
    """The thresholds from ``path``, or from the ``rules.toml`` shipped in ``registry/data``."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"rules file {path}: {error.strerror}") from error
        where = str(path)
    else:
        text = (
            resources.files("logistream.registry").joinpath("data", "rules.toml").read_text("utf-8")
        )
        where = "shipped rules.toml"
    try:
        return parse_rules_config(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML ({error})") from error
