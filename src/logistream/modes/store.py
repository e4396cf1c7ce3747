"""Operating modes in PostgreSQL, the source of truth (migration 0070): set, end early, approve,
refuse, list; each change one transaction, with its line in the audit trail in that transaction.

``ModeStore(conn, registry)`` works on the owner's connection (the CLI, the API's owner
connection), autocommit or not: each write is its own ``conn.transaction()``. Who may do what
and the checks on a mode's fields are in ``rules.py``.

The life of a mode:

- ``set``: on a truck of the registry, not already in a mode (waiting or in force; the partial
  unique index ``truck_modes_one_open_per_truck`` makes that a database fact). It starts now. On
  a truck that carries an active shipment (a ``shipments`` row with status ``active``) it is
  stored ``pending_approval`` at version 0 (not published: a pending mode is not a mode yet);
  otherwise it is ``active`` at version 1.
- ``approve`` (a carrier admin, not who set it): ``active`` at version 1, starting at the
  approval (the alarms were not held before it). A mode whose end time passed while it waited
  cannot be approved (set it again).
- ``refuse`` (the same people as approve): ``refused``, never published.
- ``end`` (early, by hand, with a reason): an active mode gets ``ended_at`` and version + 1 (the
  topic says it ended); a pending one is withdrawn (``ended``, never published).
- A mode that reached its end time ends by itself: the record on the topic already says when.
  The row is marked ``ended`` (no new version) when a later change on that truck looks at it,
  and reads show it as ended from its end time.

Publishing on the ``truck_modes`` topic is not done here: the row is the outbox
(``published_version < version``) and ``publish.py`` sends it after the commit.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from logistream.audit.trail import Actor, record
from logistream.errors import NotFound
from logistream.modes.rules import (
    ModeActor,
    check_kind,
    check_may_approve,
    check_may_set,
    check_reason,
    check_times,
    conflict,
    invalid,
)
from logistream.modes.wire import ModeKind, ModeRecord
from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg

ModeStatus = Literal["pending_approval", "active", "ended", "refused"]
STATUSES: Final[tuple[ModeStatus, ...]] = get_args(ModeStatus)
OPEN: Final = ("pending_approval", "active")

COLUMNS: Final = (
    "mode_id, truck_id, kind, reason, starts_at, ends_at, ended_at, ended_by, end_reason, "
    "set_by, set_source, status, approved_by, approved_at, version, published_version, "
    "created_at"
)
"""The columns :class:`StoredMode` is built from, in its order."""


@dataclass(frozen=True, slots=True)
class StoredMode:
    """One row of ``truck_modes``."""

    mode_id: str
    truck_id: str
    kind: ModeKind
    reason: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None
    set_by: str
    set_source: str
    status: ModeStatus
    approved_by: str | None
    approved_at: datetime | None
    version: int
    published_version: int
    created_at: datetime

    def record(self) -> ModeRecord:
        """The record on the topic (only meaningful from version 1)."""
        return ModeRecord(
            mode_id=self.mode_id,
            truck_id=self.truck_id,
            kind=self.kind,
            reason=self.reason,
            starts_at=self.starts_at.timestamp(),
            ends_at=self.ends_at.timestamp(),
            ended_at=None if self.ended_at is None else self.ended_at.timestamp(),
            set_by=self.set_by,
            approved_by=self.approved_by if self.status != "refused" else None,
            version=max(self.version, 1),
        )

    def shown_status(self, now: datetime) -> ModeStatus:
        """The status as of ``now``: a mode past its end time is over even before a change
        marks its row ended."""
        if self.status in OPEN and now >= self.ends_at:
            return "ended"
        return self.status

    def audit_view(self) -> dict[str, Any]:
        """The row as the audit trail keeps it (before/after)."""
        view = asdict(self)
        del view["published_version"], view["created_at"]
        return view


def _stored(row: Sequence[Any]) -> StoredMode:
    return StoredMode(*row)


def new_mode_id() -> str:
    return f"mode-{secrets.token_hex(6)}"


def _audit_actor(actor: ModeActor) -> Actor:
    return Actor(actor.name, actor.source, actor.organisation)


def _not_found(mode_id: str) -> NotFound:
    return NotFound(
        "mode", mode_id, f"no mode {mode_id!r}; `logistream modes list --all` shows them"
    )


class ModeStore:
    """The ``truck_modes`` table on one connection; see the module docstring."""

    def __init__(self, conn: psycopg.Connection[Any], registry: Registry) -> None:
        self._conn = conn
        self._registry = registry

    # ---- who ---------------------------------------------------------------------------------

    def user(self, name: str, source: Literal["dashboard", "cli"] = "cli") -> ModeActor:
        """A dashboard user as an actor (its role and organisation); refused when unknown."""
        row = self._conn.execute(
            "SELECT role, organisation FROM users WHERE name = %s", (name,)
        ).fetchone()
        if row is None:
            raise invalid(
                "as", f"no dashboard user {name!r}; `logistream users list` shows the users"
            )
        return ModeActor(name, source, row[0], row[1])

    # ---- writes ------------------------------------------------------------------------------

    def set(
        self,
        truck_id: str,
        kind: str,
        reason: str,
        ends_at: datetime,
        actor: ModeActor,
        *,
        now: datetime | None = None,
    ) -> StoredMode:
        """Set a truck's mode from now to ``ends_at`` (aware); pending approval when the truck
        carries an active shipment. Refused (nothing stored): see ``rules.py`` and the module
        docstring."""
        import psycopg

        check_may_set(actor)
        if self._registry.truck(truck_id) is None:
            raise NotFound(
                "truck",
                truck_id,
                f"truck_id: no truck {truck_id!r} in the registry; `logistream trucks list` "
                "shows them",
            )
        check_kind(kind)
        reason = check_reason(reason)
        now = now or datetime.now(UTC)
        check_times(now, ends_at)
        try:
            with self._conn.transaction():
                self._expire(truck_id, now)
                self._refuse_open(truck_id)
                carrying = self._conn.execute(
                    "SELECT shipment_id FROM shipments WHERE truck_id = %s AND status = 'active'",
                    (truck_id,),
                ).fetchone()
                status: ModeStatus = "pending_approval" if carrying else "active"
                row = self._conn.execute(
                    f"INSERT INTO truck_modes (mode_id, truck_id, kind, reason, starts_at, "
                    "ends_at, set_by, set_source, status, version, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    f"RETURNING {COLUMNS}",
                    (
                        new_mode_id(),
                        truck_id,
                        kind,
                        reason,
                        now,
                        ends_at,
                        actor.name,
                        actor.source,
                        status,
                        0 if carrying else 1,
                        now,
                        now,
                    ),
                ).fetchone()
                assert row is not None
                stored = _stored(row)
                note = (
                    f" (pending approval: truck carries active shipment {carrying[0]})"
                    if carrying
                    else ""
                )
                record(
                    self._conn,
                    _audit_actor(actor),
                    action="set_mode",
                    subject_kind="mode",
                    subject_id=stored.mode_id,
                    before=None,
                    after=stored.audit_view(),
                    reason=reason + note,
                )
                return stored
        except psycopg.errors.UniqueViolation:
            # Another writer set a mode between the check and the insert: the same refusal.
            self._refuse_open(truck_id)
            raise

    def end(
        self, truck_id: str, actor: ModeActor, reason: str, *, now: datetime | None = None
    ) -> StoredMode:
        """End the truck's mode now (an active one: published with ``ended_at``; a pending one:
        withdrawn). Refused when the truck is in no mode."""
        check_may_set(actor)
        reason = check_reason(reason, "why the mode ends early")
        now = now or datetime.now(UTC)
        with self._conn.transaction():
            self._expire(truck_id, now)
            current = self._open(truck_id, lock=True)
            if current is None:
                raise conflict(
                    "truck_id",
                    f"truck {truck_id!r} is in no mode; `logistream modes list --truck "
                    f"{truck_id}` shows its modes",
                )
            bump = 1 if current.status == "active" else 0
            row = self._conn.execute(
                "UPDATE truck_modes SET status = 'ended', ended_at = %s, ended_by = %s, "
                "end_reason = %s, version = version + %s, updated_at = %s "
                f"WHERE mode_id = %s RETURNING {COLUMNS}",
                (now, actor.name, reason, bump, now, current.mode_id),
            ).fetchone()
            assert row is not None
            ended = _stored(row)
            record(
                self._conn,
                _audit_actor(actor),
                action="end_mode",
                subject_kind="mode",
                subject_id=ended.mode_id,
                before=current.audit_view(),
                after=ended.audit_view(),
                reason=reason,
            )
            return ended

    def approve(self, mode_id: str, actor: ModeActor, *, now: datetime | None = None) -> StoredMode:
        """Approve a pending mode: it is in force from now to its end time (version 1)."""
        now = now or datetime.now(UTC)
        with self._conn.transaction():
            current = self._pending(mode_id, actor)
            if now >= current.ends_at:
                raise conflict(
                    "ends_at",
                    f"mode {mode_id} ended at {current.ends_at.isoformat()} while it waited; "
                    "set it again with a later end time",
                )
            row = self._conn.execute(
                "UPDATE truck_modes SET status = 'active', approved_by = %s, approved_at = %s, "
                "starts_at = %s, version = 1, updated_at = %s "
                f"WHERE mode_id = %s RETURNING {COLUMNS}",
                (actor.name, now, now, now, mode_id),
            ).fetchone()
            assert row is not None
            approved = _stored(row)
            record(
                self._conn,
                _audit_actor(actor),
                action="approve_mode",
                subject_kind="mode",
                subject_id=mode_id,
                before=current.audit_view(),
                after=approved.audit_view(),
                reason=None,
            )
            return approved

    def refuse(
        self, mode_id: str, actor: ModeActor, reason: str, *, now: datetime | None = None
    ) -> StoredMode:
        """Refuse a pending mode (never published)."""
        reason = check_reason(reason, "why the mode is refused")
        now = now or datetime.now(UTC)
        with self._conn.transaction():
            current = self._pending(mode_id, actor)
            row = self._conn.execute(
                "UPDATE truck_modes SET status = 'refused', approved_by = %s, approved_at = %s, "
                "end_reason = %s, updated_at = %s "
                f"WHERE mode_id = %s RETURNING {COLUMNS}",
                (actor.name, now, reason, now, mode_id),
            ).fetchone()
            assert row is not None
            refused = _stored(row)
            record(
                self._conn,
                _audit_actor(actor),
                action="refuse_mode",
                subject_kind="mode",
                subject_id=mode_id,
                before=current.audit_view(),
                after=refused.audit_view(),
                reason=reason,
            )
            return refused

    # ---- reads -------------------------------------------------------------------------------

    def get(self, mode_id: str) -> StoredMode | None:
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM truck_modes WHERE mode_id = %s", (mode_id,)
        ).fetchone()
        return None if row is None else _stored(row)

    def list(
        self,
        *,
        truck: str | None = None,
        status: ModeStatus | None = None,
        include_over: bool = False,
        now: datetime | None = None,
        limit: int = 500,
    ) -> builtins.list[StoredMode]:
        """Modes, the newest first. By default only those not over (waiting or in force, and
        before their end time); ``include_over``: every one; ``status``: that status as shown
        (``StoredMode.shown_status``)."""
        now = now or datetime.now(UTC)
        where: builtins.list[str] = []
        params: builtins.list[object] = []
        if truck is not None:
            where.append("truck_id = %s")
            params.append(truck)
        if not include_over and status is None:
            where.append("status IN ('pending_approval', 'active') AND ends_at > %s")
            params.append(now)
        sql = f"SELECT {COLUMNS} FROM truck_modes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, mode_id LIMIT %s"
        rows = self._conn.execute(sql, (*params, limit)).fetchall()
        found = [_stored(row) for row in rows]
        if status is not None:
            found = [m for m in found if m.shown_status(now) == status]
        return found

    # ---- helpers -----------------------------------------------------------------------------

    def _expire(self, truck_id: str, now: datetime) -> None:
        """Mark the truck's open modes past their end time as ended (no new version: their
        record already says when they end)."""
        self._conn.execute(
            "UPDATE truck_modes SET status = 'ended', updated_at = %s "
            "WHERE truck_id = %s AND status IN ('pending_approval', 'active') AND ends_at <= %s",
            (now, truck_id, now),
        )

    def _open(self, truck_id: str, *, lock: bool = False) -> StoredMode | None:
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM truck_modes WHERE truck_id = %s "
            f"AND status IN ('pending_approval', 'active'){' FOR UPDATE' if lock else ''}",
            (truck_id,),
        ).fetchone()
        return None if row is None else _stored(row)

    def _refuse_open(self, truck_id: str) -> None:
        current = self._open(truck_id)
        if current is not None:
            state = "waiting for approval" if current.status == "pending_approval" else "in force"
            raise conflict(
                "truck_id",
                f"truck {truck_id!r} is already in {current.kind} ({current.mode_id}, {state}, "
                f"until {current.ends_at.isoformat()}); end it first (`logistream modes end "
                f"{truck_id} --reason ...`)",
            )

    def _pending(self, mode_id: str, actor: ModeActor) -> StoredMode:
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM truck_modes WHERE mode_id = %s FOR UPDATE", (mode_id,)
        ).fetchone()
        if row is None:
            raise _not_found(mode_id)
        current = _stored(row)
        check_may_approve(actor, current.set_by)
        if current.status != "pending_approval":
            raise conflict(
                "status",
                f"mode {mode_id} is {current.status}, not waiting for approval; nothing to do",
            )
        return current


def as_status(value: str) -> ModeStatus:
    if value not in STATUSES:
        raise invalid("status", f"{value!r} is not one of {', '.join(STATUSES)}")
    return value
