"""Trucks that report but are not in the fleet registry, and an admin's decision on each.

A reading from a truck the registry does not know is still watched with the default cargo
profile, but nobody expects that truck to keep reporting, so its silence raises no
sensor_offline. An admin decides what it is:
- **adopt**: a truck of the fleet. Its ``[[truck]]`` entry (route, cargo, driver, tank) is added
  to ``fleet.toml`` in ``LOGISTREAM_REGISTRY_DIR`` (or, with the shipped registry, handed out to
  add by hand); the speed layer watches it fully once restarted, as it reads the registry at
  start.
- **dismiss**: a test or a typo. It leaves this list until it reports again after the dismissal.
Each decision is a row in ``unknown_truck_decisions`` (who, when, why), never overwritten.
Used by ``logistream trucks unknown|adopt|dismiss`` and the dashboard's Unknown trucks page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from logistream.display_time import show
from logistream.errors import ConfigError, LogiStreamError
from logistream.live_views import TruckView
from logistream.reads.truck_decisions import Decision, TruckDecision

if TYPE_CHECKING:
    import psycopg

    from logistream.registry.adoption import Adoption


@dataclass(frozen=True, slots=True)
class UnknownTruck:
    view: TruckView
    decision: TruckDecision | None
    """The newest decision about it, if any (a dismissed truck here has reported since)."""

    @property
    def truck_id(self) -> str:
        return self.view.truck_id

    def situation(self, timezone: str) -> str:
        """What is known about it, in words."""
        if self.decision is None:
            return "no decision yet"
        when = show(self.decision.decided_at.timestamp(), timezone)
        if self.decision.decision == "dismissed":
            return f"dismissed by {self.decision.decided_by} at {when}, reported again since"
        return (
            f"adopted by {self.decision.decided_by} at {when}; "
            "watched fully once the speed layer restarts with the new fleet.toml"
        )


def unknown(
    views: Iterable[TruckView], known: set[str], decisions: Mapping[str, TruckDecision]
) -> list[UnknownTruck]:
    """The trucks of the live views not in ``known``, the most recently heard first; a truck
    dismissed after its latest reading is left out."""
    found = []
    for view in views:
        if view.truck_id in known:
            continue
        decision = decisions.get(view.truck_id)
        if (
            decision is not None
            and decision.decision == "dismissed"
            and view.reading.timestamp <= decision.decided_at.timestamp()
        ):
            continue
        found.append(UnknownTruck(view, decision))
    return sorted(found, key=lambda u: u.view.reading.timestamp, reverse=True)


def table(trucks: Sequence[UnknownTruck], timezone: str) -> list[str]:
    """Lines for people: a header, then truck, last reading time, cargo sent, status, decision."""
    rows = [("TRUCK", "LAST READING", "CARGO SENT", "STATUS", "DECISION")]
    rows += [
        (
            u.truck_id,
            show(u.view.reading.timestamp, timezone),
            u.view.reading.cargo or "-",
            u.view.status,
            u.situation(timezone),
        )
        for u in trucks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def record(
    conn: psycopg.Connection[Any], truck_id: str, decision: Decision, by: str, note: str = ""
) -> None:
    """Add a decision (the owner's connection: the dashboard's reader role cannot write)."""
    conn.execute(
        "INSERT INTO unknown_truck_decisions (truck_id, decision, decided_by, note) "
        "VALUES (%s, %s, %s, %s)",
        (truck_id, decision, by, note),
    )


def adopt(
    conn: psycopg.Connection[Any], registry_dir: Path | None, adoption: Adoption, by: str
) -> str:
    """Add the truck to the registry folder's fleet.toml (or hand out its entry) and record the
    decision; returns what happened and what to do next, in words."""
    from logistream.registry import load_registry
    from logistream.registry.adoption import add_to_fleet, fleet_entry, problems

    if registry_dir is None:
        found = problems(adoption, load_registry(None))
        if found:
            raise ConfigError(f"{adoption.truck_id}: " + "; ".join(found))
        record(conn, adoption.truck_id, "adopted", by, "entry handed out (shipped registry)")
        return (
            "The shipped registry cannot be changed: add this entry to fleet.toml in a registry "
            "folder (LOGISTREAM_REGISTRY_DIR) and restart the services:\n\n" + fleet_entry(adoption)
        )
    written = add_to_fleet(registry_dir, adoption)
    record(conn, adoption.truck_id, "adopted", by, f"added to {written}")
    return (
        f"{adoption.truck_id} added to {written}. Restart the speed layer (`logistream speed`) "
        "so it watches the truck with its route and cargo."
    )


# ---- CLI -------------------------------------------------------------------------------------


def _operator() -> str:
    from logistream.audit.actors import cli_user

    return cli_user()


def _found() -> list[UnknownTruck]:
    from logistream import live_views
    from logistream.config import get_settings, resolve_endpoints
    from logistream.live_views.connect import checked_client
    from logistream.reads.truck_decisions import latest
    from logistream.registry import load_registry

    settings = get_settings()
    endpoints = resolve_endpoints(settings)
    registry = load_registry(settings.registry_dir)
    with _owner() as conn:
        decisions = latest(conn)
    views = live_views.read_fleet(checked_client(endpoints.redis_url))
    return unknown(views, set(registry.truck_index), decisions)


def _owner() -> psycopg.Connection[tuple[object, ...]]:
    from logistream.config import get_settings, resolve_endpoints
    from logistream.serving.users import connect

    return connect(resolve_endpoints(get_settings()).database_url)


def list_unknown(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per truck.")] = False,
) -> None:
    """List trucks that report but are not in the fleet registry (fleet.toml)."""
    import msgspec

    from logistream.config import get_settings

    found = _found()
    if json_out:
        for u in found:
            print(msgspec.json.encode(u.view.reading).decode())
        return
    if not found:
        print("Every reporting truck is in the fleet registry (or was dismissed).")
        return
    print("\n".join(table(found, get_settings().timezone)))
    print(
        f"\n{len(found)} truck(s) not in the fleet registry: no sensor_offline is raised for "
        "them. Adopt a truck of yours (`logistream trucks adopt ID --route R --cargo C "
        "--driver D`) or dismiss a test or a typo (`logistream trucks dismiss ID`)."
    )


def adopt_truck(
    truck_id: Annotated[str, typer.Argument(help="The truck id as it reports.")],
    route: Annotated[str, typer.Option(help="A route of routes.toml.")],
    cargo: Annotated[str, typer.Option(help="A cargo profile of cargo.toml.")],
    driver: Annotated[str, typer.Option(help="The driver id, e.g. DRV-012.")],
    tank_litres: Annotated[float, typer.Option(help="Diesel tank, litres.")] = 400.0,
) -> None:
    """Add a reporting truck to the fleet registry (fleet.toml in LOGISTREAM_REGISTRY_DIR)."""
    from logistream.config import get_settings
    from logistream.registry.adoption import Adoption

    adoption = Adoption(truck_id, driver, route, cargo, tank_litres)
    with _owner() as conn:
        print(adopt(conn, get_settings().registry_dir, adoption, _operator()))


def dismiss_truck(
    truck_id: Annotated[str, typer.Argument(help="The truck id as it reports.")],
    note: Annotated[str, typer.Option(help="Why (kept with the decision).")] = "",
) -> None:
    """Take a reporting truck that is not yours (a test, a typo) off the unknown list."""
    if truck_id not in {u.truck_id for u in _found()}:
        raise LogiStreamError(
            f"{truck_id} is not on the unknown list (`logistream trucks unknown` shows it)"
        )
    with _owner() as conn:
        record(conn, truck_id, "dismissed", _operator(), note)
    print(f"{truck_id} dismissed: it leaves the unknown list until it reports again.")


def register(app: typer.Typer) -> None:
    trucks_app = typer.Typer(
        help="Trucks that report but are not in the fleet registry.",
        no_args_is_help=True,
        add_completion=False,
    )
    trucks_app.command("unknown")(list_unknown)
    trucks_app.command("adopt")(adopt_truck)
    trucks_app.command("dismiss")(dismiss_truck)
    app.add_typer(trucks_app, name="trucks")
