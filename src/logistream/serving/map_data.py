"""What the maps draw, as plain data (no Streamlit, no pydeck): basemap, routes, trucks, trails.

Kenya is drawn from ``static/kenya.geojson`` shipped with the package, so the map works with
no tile server reachable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from logistream.events import SEVERITY_ORDER
from logistream.live_views import TruckView
from logistream.registry import Registry
from logistream.serving import probe_temps

Rgba = list[int]

# Four classes a dispatcher tells apart at a glance.
STATUS_CLASSES: Final = ("alarm", "warning", "offline", "ok")
STATUS_COLOURS: Final[dict[str, Rgba]] = {
    "ok": [46, 204, 113, 230],
    "warning": [241, 196, 15, 240],
    "alarm": [231, 76, 60, 255],
    "offline": [149, 165, 166, 220],
}
ROUTE_COLOUR: Final[Rgba] = [52, 152, 219, 150]
TRAIL_COLOUR: Final[Rgba] = [241, 196, 15, 220]
# Centre and zoom that show the whole of Kenya in a wide panel.
KENYA_VIEW: Final = {"latitude": 0.2, "longitude": 37.9, "zoom": 5.0}


def status_class(status: str) -> str:
    """``ok``/``offline`` as they are; critical and major alerts are alarms, the rest warnings."""
    if status in ("ok", "offline"):
        return status
    rank = SEVERITY_ORDER.get(status)
    if rank is None:
        return "warning"
    return "alarm" if rank <= SEVERITY_ORDER["major"] else "warning"


@lru_cache(maxsize=1)
def basemap() -> dict[str, Any]:
    """The shipped GeoJSON of Kenya: outline, lakes, main roads and towns."""
    text = (resources.files("logistream.serving") / "static" / "kenya.geojson").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def basemap_part(kind: str) -> dict[str, Any]:
    """A FeatureCollection of the basemap's features of one ``kind`` (country, road…)."""
    features = [f for f in basemap()["features"] if f["properties"]["kind"] == kind]
    return {"type": "FeatureCollection", "features": features}


def towns() -> list[dict[str, Any]]:
    """Towns as rows for a text/point layer: name, position [lon, lat], rank."""
    return [
        {
            "name": f["properties"]["name"],
            "position": f["geometry"]["coordinates"],
            "rank": f["properties"].get("rank", "town"),
        }
        for f in basemap()["features"]
        if f["properties"]["kind"] == "town"
    ]


def route_paths(registry: Registry, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Each route as a path of [lon, lat] through its waypoints (``names``: only those)."""
    wanted = set(names) if names is not None else None
    return [
        {
            "route": route.name,
            "label": route.label,
            "path": [[w.lon, w.lat] for w in route.waypoints],
        }
        for route in registry.routes.values()
        if wanted is None or route.name in wanted
    ]


def truck_points(
    fleet: Sequence[TruckView],
    registry: Registry,
    shipments: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Trucks with a known position, coloured by status class, with a tooltip's fields
    (``shipments``: truck id → its shipment's reference and next stop, shown in the tooltip)."""
    points = []
    for view in fleet:
        reading = view.reading
        if reading.lat is None or reading.lon is None:
            continue
        cls = status_class(view.status)
        truck = registry.truck(view.truck_id)
        points.append(
            {
                "truck": view.truck_id,
                "status": cls,
                "position": [reading.lon, reading.lat],
                "colour": STATUS_COLOURS[cls],
                "temp": probe_temps.live_text(view, registry),
                "cargo": registry.profile_for(reading.cargo).label,
                "route": registry.routes[truck.route].label if truck else "—",
                "shipment": (shipments or {}).get(view.truck_id, "no shipment"),
            }
        )
    # Alarms drawn last, so they are on top.
    points.sort(key=lambda p: -STATUS_CLASSES.index(p["status"]))
    return points


def status_counts(fleet: Sequence[TruckView]) -> dict[str, int]:
    """Trucks per status class, in the order of ``STATUS_CLASSES``."""
    counts = dict.fromkeys(STATUS_CLASSES, 0)
    for view in fleet:
        counts[status_class(view.status)] += 1
    return counts


def trail_path(points: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """A truck's trail, from (lat, lon) oldest first, as one path row."""
    path = [[lon, lat] for lat, lon in points]
    return [{"path": path}] if len(path) >= 2 else []
