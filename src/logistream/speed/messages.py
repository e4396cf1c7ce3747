"""The one-line alert messages a dispatcher reads, e.g.
"KBX 123A (vaccines) at 9.4 °C for 12 min near Voi — range 2–8 °C"."""

from __future__ import annotations

import math
from collections.abc import Sequence

from logistream.geo import haversine_km
from logistream.registry import Waypoint

NEAR_KM = 25.0


def who(truck_id: str, cargo: str | None, probe_id: str | None = None) -> str:
    """``KBX 123A (vaccines)``, and ``, rear probe`` for one of a truck's named probes."""
    truck = f"{truck_id} ({cargo})" if cargo else truck_id
    return f"{truck}, {probe_id} probe" if probe_id is not None else truck


def place(lat: float | None, lon: float | None, waypoints: Sequence[Waypoint]) -> str:
    """`` near Voi`` within 25 km of a waypoint, `` 60 km from Voi`` further, else nothing."""
    if lat is None or lon is None or not waypoints:
        return ""
    # Nearest by a flat-earth distance (cheap, right for ranking nearby places), then exact.
    k = math.cos(math.radians(lat)) ** 2
    best = min(waypoints, key=lambda w: (w.lat - lat) ** 2 + k * (w.lon - lon) ** 2)
    d = haversine_km(lat, lon, best.lat, best.lon)
    return f" near {best.name}" if d <= NEAR_KM else f" {d:.0f} km from {best.name}"


def opened(who_: str, what: str, where: str, detail: str) -> str:
    return f"{who_} {what}{where} — {detail}" if detail else f"{who_} {what}{where}"


def resolved(who_: str, what: str) -> str:
    return f"Resolved: {who_} {what}"
