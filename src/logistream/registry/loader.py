"""Load the registry from TOML: the shipped data, or a user's folder of the same files."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from logistream.errors import ConfigError
from logistream.registry.devices import (
    DEVICE_FILE,
    NO_DEVICES,
    DeviceFileError,
    Devices,
    parse_devices,
)
from logistream.registry.models import CargoProfile, Registry, Route, Truck, Waypoint

FILES = ("cargo.toml", "routes.toml", "fleet.toml")


def _read(directory: Path | None, name: str) -> dict[str, Any]:
    if directory is not None and (directory / name).exists():
        path = directory / name
        text = path.read_text(encoding="utf-8")
        where = str(path)
    else:
        text = resources.files("logistream.registry").joinpath("data", name).read_text("utf-8")
        where = f"shipped {name}"
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML ({error})") from error


def _minutes(table: dict[str, Any], key: str, default: float = 0.0) -> float:
    return float(table.get(key, default)) * 60.0


def _profile(name: str, t: dict[str, Any]) -> CargoProfile:
    try:
        profile = CargoProfile(
            name=name,
            label=str(t.get("label", name)),
            setpoint_c=float(t["setpoint"]),
            low_c=float(t["low"]),
            high_c=float(t["high"]),
            hard_low_c=float(t["hard_low"]) if "hard_low" in t else None,
            hard_high_c=float(t["hard_high"]) if "hard_high" in t else None,
            alarm_delay_high_s=_minutes(t, "alarm_delay_high_min"),
            alarm_delay_low_s=_minutes(t, "alarm_delay_low_min"),
            hysteresis_c=float(t.get("hysteresis", 0.3)),
            tor_budget_s=_minutes(t, "tor_budget_min", 60.0),
            defrost_allowance_c=float(t.get("defrost_allowance", 0.0)),
            defrost_max_s=_minutes(t, "defrost_max_min", 45.0),
            mkt_enabled=bool(t.get("mkt", True)),
            activation_energy_kj_mol=float(t.get("activation_energy_kj_mol", 83.144)),
            sensor_min_c=float(t.get("sensor_min", -50.0)),
            sensor_max_c=float(t.get("sensor_max", 70.0)),
            max_rate_c_per_min=float(t.get("max_rate_c_per_min", 4.0)),
            max_rate_door_c_per_min=float(t.get("max_rate_door_c_per_min", 10.0)),
            rate_slack_c=float(t.get("rate_slack", 4.0)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"cargo.toml [{name}]: missing or wrong value {error}") from error
    if not profile.sensor_min_c < profile.sensor_max_c:
        raise ConfigError(f"cargo.toml [{name}]: sensor_min must be below sensor_max")
    if min(profile.max_rate_c_per_min, profile.max_rate_door_c_per_min) <= 0:
        raise ConfigError(f"cargo.toml [{name}]: the plausible rates must be positive")
    if profile.rate_slack_c < 0:
        raise ConfigError(f"cargo.toml [{name}]: rate_slack must not be negative")
    return profile


def _route(name: str, t: dict[str, Any]) -> Route:
    try:
        points = tuple(
            Waypoint(
                name=str(w["name"]),
                lat=float(w["lat"]),
                lon=float(w["lon"]),
                kind=str(w.get("kind", "town")),
                stop_min=float(w.get("stop_min", 0.0)),
            )
            for w in t["waypoints"]
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"routes.toml [{name}]: missing or wrong value {error}") from error
    if len(points) < 2:
        raise ConfigError(f"routes.toml [{name}]: a route needs at least two waypoints")
    return Route(name=name, label=str(t.get("label", name)), waypoints=points)


def _truck(t: dict[str, Any]) -> Truck:
    try:
        return Truck(
            truck_id=str(t["id"]),
            driver_id=str(t["driver"]),
            route=str(t["route"]),
            cargo=str(t["cargo"]),
            tank_litres=float(t.get("tank_litres", 400.0)),
            departure_offset_min=float(t.get("departure_offset_min", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"fleet.toml truck {t!r}: missing or wrong value {error}") from error


def _devices(directory: Path | None, truck_ids: set[str]) -> Devices:
    # A user's folder without devices.toml has no devices: the shipped ones name shipped trucks.
    if directory is not None and not (directory / DEVICE_FILE).exists():
        return NO_DEVICES
    where = str(directory / DEVICE_FILE) if directory is not None else f"shipped {DEVICE_FILE}"
    try:
        return parse_devices(_read(directory, DEVICE_FILE), where, truck_ids)
    except DeviceFileError as error:
        raise ConfigError(str(error)) from error


def load_registry(directory: Path | None = None) -> Registry:
    """Cargo profiles, routes, fleet and devices; files missing from ``directory`` come from the
    package, except ``devices.toml`` (missing: no devices)."""
    cargo = {name: _profile(name, t) for name, t in _read(directory, "cargo.toml").items()}
    if "default" not in cargo:
        raise ConfigError("cargo.toml: a [default] profile is required for readings without cargo")
    routes = {name: _route(name, t) for name, t in _read(directory, "routes.toml").items()}
    trucks = tuple(_truck(t) for t in _read(directory, "fleet.toml").get("truck", []))
    for truck in trucks:
        if truck.route not in routes:
            raise ConfigError(f"fleet.toml {truck.truck_id}: unknown route {truck.route!r}")
        if truck.cargo not in cargo:
            raise ConfigError(f"fleet.toml {truck.truck_id}: unknown cargo {truck.cargo!r}")
    return Registry(
        cargo=cargo,
        routes=routes,
        trucks=trucks,
        truck_index={t.truck_id: t for t in trucks},
        devices=_devices(directory, {t.truck_id for t in trucks}),
    )


@lru_cache(maxsize=4)
def cached_registry(directory: Path | None = None) -> Registry:
    """The registry, loaded once per process and folder."""
    return load_registry(directory)
