"""``logistream modes set|end|approve|refuse|list``: trucks' operating modes from the command line.

Each command migrates the schema (the table comes with 0070), opens the owner's connection, and
first sends any mode change Kafka has not acknowledged yet (``publish_pending``). A change is
stored (with its audit line), then published on the ``truck_modes`` topic; if Kafka does not
answer, the change stays stored and a warning says it is sent at the next start.

The actor is the dashboard user given with ``--as`` (it must exist; its role and organisation
decide, ``rules.py``). Left out, the OS user's name is tried as a dashboard user name, so a
dispatcher whose login matches needs no ``--as``; otherwise the refusal asks for it. Times are
read and shown in the display zone (``LOGISTREAM_TIMEZONE``): ``--until 2026-12-07T18:00`` is
18:00 there, unless it carries its own offset. Refusals are one line and exit 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from logistream.outbox_cli import outbox_session

if TYPE_CHECKING:
    from logistream.config import Endpoints, Settings
    from logistream.modes.publish import ModePublisher
    from logistream.modes.rules import ModeActor
    from logistream.modes.store import ModeStore, StoredMode
    from logistream.outbox_cli import OutboxSession
    from logistream.registry import Registry

AsUser = Annotated[
    str | None,
    typer.Option("--as", help="The dashboard user acting (default: your OS user name)."),
]


_Session: TypeAlias = "OutboxSession[ModePublisher, ModeStore]"


def _actor(session: _Session, as_user: str | None) -> ModeActor:
    """The dashboard user acting: ``--as``, else the OS user if it is one."""
    import getpass

    if as_user is not None:
        return session.store.user(as_user, "cli")
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        name = ""
    from logistream.errors import Refused
    from logistream.modes.rules import invalid

    try:
        return session.store.user(name, "cli")
    except Refused:
        raise invalid(
            "as",
            f"missing, and your OS user {name!r} is no dashboard user; give the dashboard "
            "user who acts with --as USER",
        ) from None


@contextlib.contextmanager
def _session() -> Iterator[_Session]:
    from logistream.modes.publish import ModePublisher
    from logistream.modes.store import ModeStore

    def publisher(settings: Settings, endpoints: Endpoints, _registry: Registry) -> ModePublisher:
        return ModePublisher(settings, endpoints)

    with outbox_session("mode", publisher, ModeStore) as session:
        yield session


def parse_until(text: str, timezone: str) -> datetime:
    """``--until``: ISO 8601; without an offset, a time in the display zone."""
    from logistream.display_time import zone
    from logistream.modes.rules import invalid

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(
            "until", f"{text!r} is not a time; write it as 2026-12-07T18:00 ({timezone})"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.astimezone(UTC)


def describe(mode: StoredMode, timezone: str, now: datetime | None = None) -> str:
    """One line: id, truck, kind, status, from-until, who, reason."""
    from logistream.display_time import show

    now = now or datetime.now(UTC)
    until = mode.ended_at or mode.ends_at
    who = f"set by {mode.set_by}"
    if mode.approved_by is not None:
        verb = "refused" if mode.status == "refused" else "approved"
        who += f", {verb} by {mode.approved_by}"
    if mode.ended_by is not None:
        who += f", ended by {mode.ended_by} ({mode.end_reason})"
    return (
        f"{mode.mode_id}  {mode.truck_id}  {mode.kind}  {mode.shown_status(now)}  "
        f"{show(mode.starts_at, timezone, seconds=False)} to {show(until, timezone, seconds=False)}"
        f"  {who}: {mode.reason}"
    )


def set_mode(
    truck: Annotated[str, typer.Argument(help="The truck id.")],
    kind: Annotated[str, typer.Option(help="precooling, maintenance or washout.")],
    reason: Annotated[str, typer.Option(help="Why (kept on the record).")],
    until: Annotated[
        str, typer.Option(help="End time, e.g. 2026-12-07T18:00 (display zone); at most 7 days.")
    ],
    as_user: AsUser = None,
) -> None:
    """Put a truck in an operating mode from now until --until (its temperature alarms are held).
    On a truck with an active shipment it waits for a carrier admin's approval."""
    with _session() as session:
        ends_at = parse_until(until, session.timezone)
        mode = session.store.set(truck, kind, reason, ends_at, _actor(session, as_user))
        if mode.status == "active":
            session.published(mode.mode_id)
    print(describe(mode, session.timezone))
    if mode.status == "pending_approval":
        print(
            f"The truck carries an active shipment: a carrier admin approves it with "
            f"`logistream modes approve {mode.mode_id} --as ADMIN`."
        )


def end_mode(
    truck: Annotated[str, typer.Argument(help="The truck id.")],
    reason: Annotated[str, typer.Option(help="Why it ends early (kept on the record).")],
    as_user: AsUser = None,
) -> None:
    """End a truck's mode now (or withdraw one waiting for approval)."""
    with _session() as session:
        mode = session.store.end(truck, _actor(session, as_user), reason)
        session.published(mode.mode_id)
    print(describe(mode, session.timezone))


def approve(
    mode_id: Annotated[str, typer.Argument(help="The mode id (`logistream modes list`).")],
    as_user: AsUser = None,
) -> None:
    """Approve a mode waiting for a second person (a carrier admin other than who set it)."""
    with _session() as session:
        mode = session.store.approve(mode_id, _actor(session, as_user))
        session.published(mode.mode_id)
    print(describe(mode, session.timezone))


def refuse(
    mode_id: Annotated[str, typer.Argument(help="The mode id (`logistream modes list`).")],
    reason: Annotated[str, typer.Option(help="Why it is refused (kept on the record).")],
    as_user: AsUser = None,
) -> None:
    """Refuse a mode waiting for approval (a carrier admin other than who set it)."""
    with _session() as session:
        mode = session.store.refuse(mode_id, _actor(session, as_user), reason)
    print(describe(mode, session.timezone))


def list_modes(
    truck: Annotated[str | None, typer.Option(help="Only this truck.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also the modes that are over (ended, refused).")
    ] = False,
) -> None:
    """Modes waiting for approval or in force (with --all: every one), the newest first."""
    with _session() as session:
        found = session.store.list(truck=truck, include_over=show_all)
        if not found:
            print("No modes match.")
            return
        print("\n".join(describe(mode, session.timezone) for mode in found))


def register(app: typer.Typer) -> None:
    modes_app = typer.Typer(
        help="Operating modes per truck: precooling, maintenance, washout (alarms held).",
        no_args_is_help=True,
        add_completion=False,
    )
    modes_app.command("set")(set_mode)
    modes_app.command("end")(end_mode)
    modes_app.command("approve")(approve)
    modes_app.command("refuse")(refuse)
    modes_app.command("list")(list_modes)
    app.add_typer(modes_app, name="modes")
