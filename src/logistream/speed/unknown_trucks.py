"""``logistream trucks unknown``: trucks that report but are not in the fleet registry.

A reading from a truck the registry does not know is still watched with the default cargo
profile, but nobody expects that truck to keep reporting, so its silence raises no
sensor_offline. An admin decides what it is: a truck of the fleet to add to ``fleet.toml`` (in
``LOGISTREAM_REGISTRY_DIR``), or a test or a typo to ignore. This lists them for that decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated

import typer

from logistream.display_time import show
from logistream.live_views import TruckView


def unknown(views: Iterable[TruckView], known: set[str]) -> list[TruckView]:
    """The trucks of the live views not in ``known``, the most recently heard first."""
    return sorted(
        (v for v in views if v.truck_id not in known),
        key=lambda v: v.reading.timestamp,
        reverse=True,
    )


def table(trucks: Sequence[TruckView], timezone: str) -> list[str]:
    """Lines for people: a header, then truck, last reading time, cargo sent, status."""
    rows = [("TRUCK", "LAST READING", "CARGO SENT", "STATUS")]
    rows += [
        (v.truck_id, show(v.reading.timestamp, timezone), v.reading.cargo or "-", v.status)
        for v in trucks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def list_unknown(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per truck.")] = False,
) -> None:
    """List trucks that report but are not in the fleet registry (fleet.toml)."""
    import msgspec

    from logistream import live_views
    from logistream.config import get_settings
    from logistream.registry import load_registry
    from logistream.speed.cli import redis_client

    settings = get_settings()
    registry = load_registry(settings.registry_dir)
    found = unknown(live_views.read_fleet(redis_client()), set(registry.truck_index))
    if json_out:
        for v in found:
            print(msgspec.json.encode(v.reading).decode())
        return
    if not found:
        print("Every reporting truck is in the fleet registry.")
        return
    print("\n".join(table(found, settings.timezone)))
    print(
        f"\n{len(found)} truck(s) not in the fleet registry: no sensor_offline is raised for "
        "them. Add a truck of yours to fleet.toml (in LOGISTREAM_REGISTRY_DIR) and restart the "
        "speed layer to watch it fully."
    )


def register(trucks_app: typer.Typer) -> None:
    trucks_app.command("unknown")(list_unknown)
