"""The live stream: alert changes (as soon as the speed layer writes them: the feed's wait returns
the moment a change is added), truck updates (trucks whose latest reading changed, looked for
every ``scan_s``, since the speed layer writes no stream of them) and shipment updates (stage,
ETA per stop and predicted arrival temperature, looked for the same way), as Server-Sent Events.

An alert event's id is the change's sequence number (``AlertChange.seq``), which LogiStream gives
when the speed layer writes the change: a whole number, increasing, never a store's own id.
A client resumes with it (``Last-Event-ID``, or ``since``) on any API server, after a restart too.

A shipper's or receiver's stream (``windows``) carries the alert changes and truck updates of
the trucks it may see now only (``api.tenant_live``), alerts opened within the window; the
answer is asked for before each batch of events and is cached by its giver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Final

import msgspec

from logistream.live_views import LiveFeed, ShipmentLive, TruckView
from logistream.reads.tenant_trucks import in_care

SINCE_PATTERN: Final = r"^(\$|\d{1,19})$"
"""``$`` (only changes from now on) or a sequence number (the changes after it; 0: all kept)."""
EVENT_ID_PATTERN: Final = r"^\d{1,19}$"


def sse(data: bytes, event: str | None = None, event_id: str | None = None) -> bytes:
    """One Server-Sent Event (data is one JSON line, so no line splitting is needed)."""
    head = b""
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    if event is not None:
        head += b"event: " + event.encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


def start_after(since: str, last_event_id: str | None) -> int | None:
    """The sequence number to resume after (``Last-Event-ID`` wins); None: from now on."""
    chosen = last_event_id or since
    return None if chosen == "$" else int(chosen)


def changed_trucks(seen: dict[str, float], current: list[tuple[str, float]]) -> list[str]:
    """Trucks whose latest event time differs from the one last sent (updates ``seen``)."""
    changed = [t for t, score in current if seen.get(t) != score]
    seen.clear()
    seen.update(current)
    return changed


async def events(
    feed: LiveFeed,
    *,
    after: int | None = None,
    truck: str | None = None,
    trucks: bool = True,
    scan_s: float = 1.0,
    keepalive_s: float = 15.0,
    read_truck: Callable[[str], TruckView | None] | None = None,
    shipments: bool = True,
    read_shipment: Callable[[str], ShipmentLive | None] | None = None,
    windows: Callable[[], Awaitable[Mapping[str, float]]] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[bytes]:
    """SSE bytes forever: ``alert`` events (id = the change's sequence number, for resuming),
    ``truck`` events (the truck's view, as GET /v1/trucks/{id}, read by ``read_truck``) and
    ``shipment`` events (a tracked shipment's live state, as ``live`` in GET
    /v1/shipments/{id}, read by ``read_shipment``; with ``truck``, only that truck's).
    ``windows``: the trucks the token may see now and their windows' starts (Unix seconds; a
    shipper's or receiver's token): alert events of those trucks opened within the window and
    truck events of those trucks only (``read_truck`` trims the view's alerts); None: all.
    ``after``: the sequence number to start after; None: the latest now, so nothing written
    between the reads is lost."""
    from logistream.api.routes.common import truck_dict

    last_seq = await feed.last_seq() if after is None else after
    seen: dict[str, float] = {}
    seen_shipments: dict[str, float] = {}
    scanning = trucks or shipments
    if trucks:
        changed_trucks(seen, await feed.truck_times())
    if shipments:
        changed_trucks(seen_shipments, await feed.shipment_times())
    yield b"retry: 2000\n: connected; alert changes and truck updates follow\n\n"
    next_scan = clock() + scan_s
    last_sent = clock()
    while True:
        wait_s = max(0.0, next_scan - clock()) if scanning else keepalive_s
        changes = await feed.changes_after(last_seq, wait_s=min(keepalive_s, wait_s))
        care = await windows() if windows is not None else None  # cached: no I/O mostly
        for change in changes:
            last_seq = change.seq
            if truck is not None and change.alert.truck_id != truck:
                continue
            alert = change.alert
            if care is not None and not in_care(care, alert.truck_id, alert.opened_at):
                continue
            yield sse(change.raw, "alert", str(change.seq))
            last_sent = clock()
        scan_now = scanning and clock() >= next_scan
        if scan_now:
            next_scan = clock() + scan_s
        if trucks and scan_now:
            current = await feed.truck_times()
            if truck is not None:
                current = [(t, s) for t, s in current if t == truck]
            if care is not None:
                current = [(t, s) for t, s in current if t in care]
            for truck_id in changed_trucks(seen, current):
                view = await asyncio.to_thread(read_truck, truck_id) if read_truck else None
                if view is not None:
                    yield sse(msgspec.json.encode(truck_dict(view)), "truck")
                    last_sent = clock()
        if shipments and scan_now:
            for shipment_id in changed_trucks(seen_shipments, await feed.shipment_times()):
                live = (
                    await asyncio.to_thread(read_shipment, shipment_id) if read_shipment else None
                )
                if live is not None and (truck is None or live.truck_id == truck):
                    yield sse(msgspec.json.encode(live), "shipment")
                    last_sent = clock()
        if clock() - last_sent >= keepalive_s:
            yield b": keepalive\n\n"
            last_sent = clock()
