"""What the Shipments pages show (pure; no Streamlit, no stores): the list's rows and status
colour, a shipment's fences for the map, its stages timeline, ETA per stop, lots and change log,
who may do what, and an uploaded shipment file read into a :class:`Shipment`.

The shipment itself comes from PostgreSQL (the store's records); where it is now comes from the
speed layer's live state in Redis (``ShipmentLive``, ``StageEvent``). A shipment the speed layer
does not track (yet) shows its stored status and no live stage.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Final

from logistream.events import StageEvent
from logistream.live_views.records import ShipmentLive
from logistream.registry import Registry
from logistream.serving.truck_data import clock
from logistream.shipments.errors import ShipmentError
from logistream.shipments.model import Shipment
from logistream.shipments.parse import parse_shipment
from logistream.shipments.pod import handover_stop
from logistream.shipments.wire import ShipmentRecord

# The list's status colours, worst first: what a dispatcher looks at first.
STATUSES: Final = ("late", "alert open", "on time", "delivered", "cancelled")
STATUS_COLOURS: Final[dict[str, str]] = {
    "late": "#c0392b",
    "alert open": "#d35400",
    "on time": "#1e8449",
    "delivered": "#2471a3",
    "cancelled": "#7f8c8d",
}
"""Each status cell's background in the list."""
STAGE_LABELS: Final[dict[str, str]] = {
    "planned": "planned",
    "at_origin": "at origin (loading)",
    "in_transit": "in transit",
    "at_stop": "at stop",
    "at_destination": "at destination",
    "delivered": "delivered",
}
DISPATCH_ROLES: Final = ("dispatcher", "admin")
RELEASE_ROLES: Final = ("admin", "quality_manager")
"""Who releases or quarantines a lot on the dashboard: a quality manager (the decision is theirs),
or an admin."""


def parse_upload(filename: str, data: bytes, registry: Registry) -> Shipment:
    """The shipment in an uploaded ``.toml``/``.json`` file; refusals as ``ShipmentError``, the
    parser's one line (as ``load_shipment_file`` reads a file on disk)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ShipmentError(filename, "a shipment file ends in .toml or .json")
    try:
        text = data.decode("utf-8")
        decoded = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except UnicodeDecodeError as exc:
        raise ShipmentError(filename, "is not UTF-8 text; save it as UTF-8") from exc
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise ShipmentError(filename, f"is not valid {suffix[1:].upper()} ({detail})") from exc
    if not isinstance(decoded, Mapping):
        raise ShipmentError(filename, "must hold one table (a JSON object)")
    return parse_shipment(decoded, registry)


def can_dispatch(role: str) -> bool:
    """Create, cancel, and set a stage by hand."""
    return role in DISPATCH_ROLES


def can_release(role: str) -> bool:
    return role in RELEASE_ROLES


def can_sign(organisation: str | None, shipment: Shipment) -> bool:
    """Only a user of the receiving organisation signs a proof of delivery (``pod.py``)."""
    return organisation is not None and organisation == shipment.receiver.org_id


def stage_text(shipment: Shipment, live: ShipmentLive | None) -> str:
    """``at stop 1 · Kisumu regional vaccine depot``; ``—`` when the speed layer has nothing."""
    if live is None:
        return "—"
    label = STAGE_LABELS.get(live.stage, live.stage)
    if live.stage in ("at_origin", "at_stop", "at_destination") and 0 <= live.stop < len(
        shipment.stops
    ):
        return f"{label} · {shipment.stops[live.stop].name}"
    return label


def next_stop(shipment: Shipment, live: ShipmentLive | None) -> tuple[str, float | None, bool]:
    """The next stop's name, its ETA (epoch s, None: unknown) and whether it is late."""
    if live is None or not live.etas:
        return "—", None, False
    first = min(live.etas, key=lambda e: e.stop)
    name = shipment.stops[first.stop].name if first.stop < len(shipment.stops) else "—"
    return name, first.eta, first.late


def status_of(record: ShipmentRecord, live: ShipmentLive | None, alert_trucks: set[str]) -> str:
    """One of :data:`STATUSES`: the stored end states first, then a late ETA, then an open
    alert on the shipment's truck, else on time."""
    if record.status in ("delivered", "cancelled"):
        return record.status
    if live is not None and live.stage == "delivered":
        return "delivered"
    if live is not None and any(e.late for e in live.etas):
        return "late"
    if record.shipment.truck_id in alert_trucks:
        return "alert open"
    return "on time"


def list_rows(
    records: Sequence[ShipmentRecord],
    live: Mapping[str, ShipmentLive],
    alert_trucks: set[str],
    timezone: str,
) -> list[dict[str, Any]]:
    """One row per shipment, in the order given (the store's: newest first)."""
    rows = []
    for record in records:
        s = record.shipment
        state = live.get(s.shipment_id)
        stop, eta, _late = next_stop(s, state)
        status = status_of(record, state, alert_trucks)
        rows.append(
            {
                "reference": s.reference,
                "shipment": s.shipment_id,
                "shipper → receiver": f"{s.shipper.name} → {s.receiver.name}",
                "truck": s.truck_id,
                "stage": stage_text(s, state),
                "next stop": stop,
                "ETA": "—" if eta is None else clock(eta, timezone),
                "status": status,
            }
        )
    return rows


def matching(
    records: Iterable[ShipmentRecord],
    live: Mapping[str, ShipmentLive],
    *,
    shippers: Iterable[str] = (),
    receivers: Iterable[str] = (),
    stages: Iterable[str] = (),
) -> list[ShipmentRecord]:
    """The records whose shipper, receiver (names) and live stage are among those chosen (an
    empty choice: any). A shipment the speed layer does not track has the stage ``planned``."""
    wanted_shippers, wanted_receivers, wanted_stages = set(shippers), set(receivers), set(stages)
    found = []
    for record in records:
        s = record.shipment
        state = live.get(s.shipment_id)
        stage = state.stage if state is not None else "planned"
        if wanted_shippers and s.shipper.name not in wanted_shippers:
            continue
        if wanted_receivers and s.receiver.name not in wanted_receivers:
            continue
        if wanted_stages and stage not in wanted_stages:
            continue
        found.append(record)
    return found


def status_css(value: Any) -> str:
    """The CSS of a status cell: its colour as the background, white text."""
    colour = STATUS_COLOURS.get(str(value))
    return f"background-color: {colour}; color: white" if colour else ""


def fence_polygons(shipment: Shipment) -> list[dict[str, Any]]:
    """Every stop's geofence as a pydeck polygon row: its ring in [lon, lat] (a circle is the
    shapely polygon the speed layer tests against), its point [lon, lat] and the stop's name."""
    return [
        {
            "name": stop.name,
            "stop": index,
            "polygon": [[float(x), float(y)] for x, y in stop.geofence.shape.exterior.coords],
            "position": [stop.geofence.centre[1], stop.geofence.centre[0]],
        }
        for index, stop in enumerate(shipment.stops)
    ]


def fence_view(shipment: Shipment) -> dict[str, float]:
    """A map view that shows every stop: their middle, zoomed out to their spread."""
    lats = [stop.geofence.centre[0] for stop in shipment.stops]
    lons = [stop.geofence.centre[1] for stop in shipment.stops]
    spread = max(max(lats) - min(lats), max(lons) - min(lons))
    zoom = 12.0 if spread < 0.02 else 9.0 if spread < 0.5 else 7.0 if spread < 3 else 5.0
    return {
        "latitude": (max(lats) + min(lats)) / 2,
        "longitude": (max(lons) + min(lons)) / 2,
        "zoom": zoom,
    }


def timeline_rows(
    shipment: Shipment, events: Sequence[StageEvent], timezone: str
) -> list[dict[str, Any]]:
    """The stage events oldest first: when, stage (with the stop), cause, who and why."""
    rows = []
    for event in sorted(events, key=lambda e: e.at):
        label = STAGE_LABELS.get(event.stage, event.stage)
        if event.stage in ("at_origin", "at_stop", "at_destination"):
            label = f"{label} · {event.stop_name}"
        rows.append(
            {
                "time": clock(event.at, timezone),
                "stage": label,
                "cause": event.cause,
                "by": event.by or "",
                "reason": event.reason or "",
            }
        )
    return rows


def eta_rows(shipment: Shipment, live: ShipmentLive | None, timezone: str) -> list[dict[str, Any]]:
    """Each stop with its planned window and, for the stops ahead, the ETA, the distance left
    and whether it is late; the next stop carries the predicted arrival temperature if any."""
    etas = {e.stop: e for e in live.etas} if live is not None else {}
    ahead = min(etas) if etas else None
    rows = []
    for index, stop in enumerate(shipment.stops):
        eta = etas.get(index)
        forecast = live.arrival_forecast if live is not None and index == ahead else None
        rows.append(
            {
                "stop": stop.name,
                "kind": stop.kind,
                "window": f"{clock(stop.window_start.timestamp(), timezone)} – "
                f"{clock(stop.window_end.timestamp(), timezone)}",
                "ETA": "—" if eta is None else clock(eta.eta, timezone),
                "km left": None if eta is None else round(eta.km_left, 1),
                "late": "" if eta is None else ("late" if eta.late else "on time"),
                "arrival temperature": forecast or "",
            }
        )
    return rows


def lot_rows(
    record: ShipmentRecord,
    releases: Mapping[str, tuple[str, str]],
    report: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """Each lot: product, quantity, where it is handed over, its PoD, the quality manager's
    decision (``releases``: lot → (decision, by)), and the verdict of the latest issued report
    (``report``: its content; None: no report issued yet)."""
    s = record.shipment
    pods = {p.lot: p for p in record.pods}
    verdicts = {str(lot["lot"]): lot for lot in (report or {}).get("lots", [])}
    rows = []
    for lot in s.lots:
        drop = s.stops[handover_stop(s, lot.number)].name
        pod = pods.get(lot.number)
        release = releases.get(lot.number)
        reported = verdicts.get(lot.number)
        rows.append(
            {
                "lot": lot.number,
                "product": lot.product,
                "quantity": f"{lot.quantity:g} {lot.unit}",
                "handed over at": drop,
                "proof of delivery": "—" if pod is None else f"{pod.decision} by {pod.name}",
                "release": "—" if release is None else f"{release[0]} by {release[1]}",
                "verdict": "no report yet"
                if reported is None
                else f"{reported['verdict']}: {reported.get('reason', '')}",
            }
        )
    return rows


def change_rows(changes: Iterable[Any], timezone: str) -> list[dict[str, Any]]:
    """The change log (``ShipmentStore.changes``), oldest first."""
    return [
        {
            "version": c.version,
            "change": c.change.replace("_", " "),
            "by": c.by,
            "time": clock(c.at.timestamp(), timezone),
            "reason": c.reason,
        }
        for c in changes
    ]


def pod_choices(record: ShipmentRecord) -> dict[str, list[str]]:
    """Stop id → the lots handed over there still unsigned (the PoD form's choices)."""
    signed = {p.lot for p in record.pods}
    s = record.shipment
    choices: dict[str, list[str]] = {}
    for lot in s.lots:
        if lot.number not in signed:
            choices.setdefault(s.stops[handover_stop(s, lot.number)].stop_id, []).append(lot.number)
    return choices


def truck_labels(
    records: Iterable[ShipmentRecord], live: Mapping[str, ShipmentLive]
) -> dict[str, str]:
    """Truck id → ``KEMSA/EPI/2026/118 · next Kisumu regional vaccine depot`` for the live map's
    tooltip: each active shipment's reference and next stop."""
    labels = {}
    for record in records:
        if record.status != "active":
            continue
        s = record.shipment
        stop, _eta, _late = next_stop(s, live.get(s.shipment_id))
        labels[s.truck_id] = s.reference + ("" if stop == "—" else f" · next {stop}")
    return labels
