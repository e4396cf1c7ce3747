"""Cargo profiles, routes and trucks: one registry that the simulator, rules and audits all read."""

from logistream.registry.loader import cached_registry, load_registry
from logistream.registry.models import CargoProfile, Registry, Route, Truck, Waypoint

__all__ = [
    "CargoProfile",
    "Registry",
    "Route",
    "Truck",
    "Waypoint",
    "cached_registry",
    "load_registry",
]
