"""A shipment's archived readings: its truck's GPS positions (to replay its stages), the
dispatcher's stage overrides, and the temperatures of its probes over a lot's carriage.

``lot_readings`` is what the proof of delivery and the shipment report take for one lot: the
stages replayed from the archive (:mod:`logistream.shipments.carriage`, the ``[shipments]``
dwell of the configured rules file), the carriage from loading to ``until`` (the handover the
caller knows: a PoD's signed time, the arrival at the drop, or now), and the readings inside it.

Choices:
- Positions count from the earlier of the shipment's creation and its origin's planned window:
  where the truck was before the shipment existed or was due to load says nothing about it (a
  simulation's clock starts in the past, hence the window too).
- The shipment's probes are its ``probes`` (none named: every probe of the truck); a reading that
  names no probe is the truck's single probe's and always counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logistream.shipments.carriage import Override, Position, drop_stop, loaded_at, replay
from logistream.shipments.lot_figures import LotReading
from logistream.shipments.stages import StageChange, StageConfig

if TYPE_CHECKING:
    import psycopg

    from logistream.shipments.wire import ShipmentRecord


def _epoch(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def configured_stage_config() -> StageConfig:
    """The dwell of the configured rules file's ``[shipments]`` (the speed layer's own)."""
    from logistream.config import get_settings
    from logistream.registry.rules import load_rules_config

    sh = load_rules_config(get_settings().rules_file).shipments
    return StageConfig(dwell_in_s=sh.dwell_in_s, dwell_out_s=sh.dwell_out_s)


def tracked_since(conn: psycopg.Connection[Any], record: ShipmentRecord) -> datetime:
    """From when the truck's positions speak of the shipment (see the module's choices)."""
    origin = record.shipment.stops[0].window_start
    row = conn.execute(
        "SELECT created_at FROM shipments WHERE shipment_id = %s",
        [record.shipment.shipment_id],
    ).fetchone()
    created = row[0] if row is not None else record.updated_at
    return min(_epoch(created), _epoch(origin))


def archived_until(
    conn: psycopg.Connection[Any], record: ShipmentRecord, now: datetime
) -> datetime:
    """The moment the records speak of the shipment up to: the newest of the truck's archived
    readings since tracking began, the shipment's changes (overrides, PoDs, cancellation) and
    its lots' release decisions, never after ``now``; with none of them, when tracking began.
    A report judged up to this moment stays the same until something new is recorded."""
    since = tracked_since(conn, record)
    shipment_id = record.shipment.shipment_id
    row = conn.execute(
        "SELECT greatest("
        "(SELECT max(event_time) FROM readings WHERE truck_id = %s AND event_time >= %s "
        "AND event_time <= %s), "
        "(SELECT max(changed_at) FROM shipment_changes WHERE shipment_id = %s), "
        "(SELECT max(decided_at) FROM lot_releases WHERE shipment_id = %s))",
        [record.shipment.truck_id, since, now, shipment_id, shipment_id],
    ).fetchone()
    newest: datetime | None = row[0] if row is not None else None
    if newest is None:
        return since
    return min(max(newest, since), now)


def positions(
    conn: psycopg.Connection[Any], record: ShipmentRecord, since: datetime, until: datetime
) -> list[Position]:
    """The truck's GPS fixes in ``[since, until]``, in event-time order."""
    rows = conn.execute(
        "SELECT extract(epoch FROM event_time)::float8, lat, lon, event_id FROM readings "
        "WHERE truck_id = %s AND event_time >= %s AND event_time <= %s "
        "AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY event_time, event_id",
        [record.shipment.truck_id, since, until],
    ).fetchall()
    return [Position(float(t), float(lat), float(lon), str(e)) for t, lat, lon, e in rows]


def overrides(conn: psycopg.Connection[Any], shipment_id: str) -> list[Override]:
    """The dispatcher's stage overrides (``shipment_changes``), oldest first."""
    rows = conn.execute(
        "SELECT extract(epoch FROM changed_at)::float8, detail->>'stage', "
        "(detail->>'stop_index')::int, version, changed_by, reason FROM shipment_changes "
        "WHERE shipment_id = %s AND change = 'stage_overridden' ORDER BY version",
        [shipment_id],
    ).fetchall()
    return [
        Override(float(at), st, int(stop), int(v), by, why) for at, st, stop, v, by, why in rows
    ]


def temperatures(
    conn: psycopg.Connection[Any], record: ShipmentRecord, start: datetime, end: datetime
) -> list[LotReading]:
    """The shipment's probes' readings in ``[start, end]``, by (event time, event id)."""
    probes = list(record.shipment.probes)
    rows = conn.execute(
        "SELECT extract(epoch FROM event_time)::float8, temp, coalesce(probe_id, ''), "
        "coalesce(defrost, false), coalesce(door_open, false), event_id, lat, lon "
        "FROM readings WHERE truck_id = %s AND event_time >= %s AND event_time <= %s "
        "AND (cardinality(%s::text[]) = 0 OR probe_id IS NULL OR probe_id = ANY(%s::text[])) "
        "ORDER BY event_time, event_id",
        [record.shipment.truck_id, start, end, probes, probes],
    ).fetchall()
    return [
        LotReading(float(t), float(temp), probe, bool(df), bool(door), str(eid), lat, lon)
        for t, temp, probe, df, door, eid, lat, lon in rows
    ]


def stage_changes(
    conn: psycopg.Connection[Any],
    record: ShipmentRecord,
    until: datetime,
    config: StageConfig | None = None,
) -> list[StageChange]:
    """The shipment's stages replayed from the archive up to ``until``, overrides applied."""
    since = tracked_since(conn, record)
    found = positions(conn, record, since, until)
    done = [o for o in overrides(conn, record.shipment.shipment_id) if o.at <= until.timestamp()]
    return replay(record.shipment, found, done, config or configured_stage_config())


@dataclass(frozen=True, slots=True)
class LotReadings:
    """One lot's readings over its carriage (loading to ``end``)."""

    shipment_id: str
    lot: str
    drop: int
    """Index of the lot's drop stop."""
    start: float | None
    """Loading (epoch s); None: the shipment reached no stage by ``end``, nothing to judge."""
    end: float
    readings: tuple[LotReading, ...]
    changes: tuple[StageChange, ...]
    """The replayed stages up to ``end``."""


def lot_readings(
    conn: psycopg.Connection[Any],
    record: ShipmentRecord,
    lot_number: str,
    until: datetime,
    config: StageConfig | None = None,
) -> LotReadings:
    """The lot's carriage from its loading (replayed from the archive) to ``until`` (its
    handover), and its probes' readings inside it."""
    until = _epoch(until)
    changes = stage_changes(conn, record, until, config)
    start = loaded_at(changes)
    end = until.timestamp()
    readings: list[LotReading] = []
    if start is not None and start <= end:
        # A second early, then to the exact float: a timestamp's round trip may lose a µs.
        found = temperatures(conn, record, datetime.fromtimestamp(start - 1.0, UTC), until)
        readings = [r for r in found if start <= r.t <= end]
    return LotReadings(
        record.shipment.shipment_id,
        lot_number,
        drop_stop(record.shipment, lot_number),
        start,
        end,
        tuple(readings),
        tuple(changes),
    )


def alerts_during(
    conn: psycopg.Connection[Any], truck_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The truck's alerts open at any moment of ``[start, end]`` (as the trip report counts
    them, ``views.OPEN_DURING``), each with its acknowledgements (who, when, note)."""
    from logistream.reads.views import OPEN_DURING

    params = {"truck_id": truck_id, "start": start, "end": end}
    cur = conn.execute(
        (
            "SELECT alert_id, rule, min(severity) AS severity, min(opened_at) AS opened_at, "
            "(array_agg(message ORDER BY changed_at))[1] AS message, "
            "min(coalesce(resolved_at, changed_at)) FILTER (WHERE state = 'resolved') "
            "AS resolved_at FROM alert_changes "
            f"WHERE truck_id = %(truck_id)s AND alert_id IN ({OPEN_DURING}) "
            "GROUP BY alert_id, rule ORDER BY min(opened_at), alert_id"
        ).encode(),
        params,
    )
    names = [d.name for d in cur.description or []]
    alerts = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    acks = conn.execute(
        "SELECT alert_id, changed_at, acknowledged_by, ack_note FROM alert_changes "
        "WHERE truck_id = %s AND state = 'acknowledged' AND alert_id = ANY(%s) "
        "ORDER BY changed_at, acknowledged_by",
        [truck_id, [a["alert_id"] for a in alerts]],
    ).fetchall()
    for alert in alerts:
        alert["acknowledgements"] = [
            {"at": at, "by": by, "note": note}
            for aid, at, by, note in acks
            if aid == alert["alert_id"]
        ]
    return alerts


def proofs_of_delivery(
    conn: psycopg.Connection[Any], shipment_id: str
) -> dict[str, dict[str, Any]]:
    """The shipment's proofs of delivery (``shipment_pod``, migration 0051), by lot number."""
    cur = conn.execute(
        "SELECT lot_number, stop_index, stop_id, decision, recorded_by, signer_name, "
        "organisation, signed_at, note, temperature FROM shipment_pod WHERE shipment_id = %s "
        "ORDER BY lot_number",
        [shipment_id],
    )
    names = [d.name for d in cur.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
