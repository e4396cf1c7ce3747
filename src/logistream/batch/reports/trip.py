"""The trip temperature report: what it shows, and its versions (append-only).

Issuing: the trip's views are recomputed from the archive first, in the issuing transaction's
own copies (no batch run is waited on), so the report and its digest describe the same
readings. If the digest equals the latest issued version's, that version is the report
(nothing new is stored); otherwise version n + 1 is stored in ``report_versions`` with its
full content. Earlier versions are never changed and every report lists them. A version is
stamped as it is committed, under the issuer lock, so numbers and issue times agree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logistream.batch.reports.changes import changes_section, with_changes
from logistream.batch.reports.digest import trip_digest
from logistream.batch.reports.methods import trip_methods
from logistream.batch.reports.modes import modes_section, with_modes
from logistream.batch.reports.probes import probe_records
from logistream.batch.views.recompute import configured_params, recompute_trip_privately
from logistream.coldchain.params import BatchParams
from logistream.config import get_settings
from logistream.reads import views
from logistream.reads.notifications import trip_notifications
from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg

Content = dict[str, Any]


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 UTC text and tuples as lists, ready for JSON."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def build_content(
    conn: psycopg.Connection[Any],
    registry: Registry,
    truck_id: str,
    trip_id: str,
    params: BatchParams | None = None,
) -> Content:
    """Everything the report shows, from the views as they are now (JSON-ready); ``params``:
    the thresholds the views were computed with (unset: the configured rules file's)."""
    if params is None:
        params = configured_params(get_settings().rules_file)
    trip = views.find_trip(conn, trip_id, truck_id)
    compliance = views.trip_compliance(conn, truck_id, trip_id)
    route = registry.routes.get(trip["route"] or "")
    readings_digest, count = trip_digest(conn, truck_id, trip_id)
    # The truck's operating modes during the trip and the alarms held in them: part of what
    # the report attests, so the digest covers them (batch/reports/modes.py).
    modes = modes_section(conn, truck_id, trip["start_time"], trip["end_time"])
    digest, digest_format = with_modes(readings_digest, modes)
    # The audit rows that touched the trip (its truck's modes, the rules files in force): part
    # of what it attests, so the digest covers them too (batch/reports/changes.py).
    changes = changes_section(conn, truck_id, trip["start_time"], trip["end_time"])
    digest, digest_format = with_changes(digest, digest_format, changes)
    series = views.trip_series(conn, truck_id, trip_id)
    content: Content = {
        "report": "trip temperature report",
        "truck_id": truck_id,
        "trip_id": trip_id,
        "driver_id": trip["driver_id"],
        "cargo": trip["cargo"],
        "cargo_label": compliance.get("cargo_label"),
        "route": trip["route"],
        "route_label": route.label if route else None,
        "start_time": trip["start_time"],
        "end_time": trip["end_time"],
        "duration_s": trip["duration_s"],
        "distance_km": trip["distance_km"],
        "start": [trip["start_lat"], trip["start_lon"]],
        "end": [trip["end_lat"], trip["end_lon"]],
        "readings": count,
        "gaps": views.trip_gaps(conn, truck_id, trip_id),
        # Readings the probe cannot have measured: left out of excursions and MKT.
        "sensor_faults": views.trip_sensor_faults(conn, truck_id, trip_id),
        # The instruments behind the readings, whether each was in calibration, and each
        # one's own compliance when the readings name probes (the verdict is the worst's).
        "probes": probe_records(
            registry,
            truck_id,
            trip["end_time"],
            views.trip_probe_compliance(conn, truck_id, trip_id),
        ),
        "compliance": {k: v for k, v in compliance.items() if k not in ("truck_id", "trip_id")},
        "verdict": compliance.get("verdict"),
        "reason": compliance.get("reason"),
        "excursions": views.trip_excursions(conn, truck_id, trip_id),
        "alerts": views.trip_alerts(conn, truck_id, trip_id, trip["start_time"], trip["end_time"]),
        "reconciliation": views.trip_reconciliation(conn, truck_id, trip_id),
        "operating_modes": modes,
        "changes": changes,
        # Who was told what, when and how: the audit shows what was done about an excursion.
        "notifications": trip_notifications(conn, truck_id, trip["start_time"], trip["end_time"]),
        "digest": digest,
        "digest_format": digest_format,
        # Each figure's full name and method with the parameters used, stored with the version
        # (a profile may change later). Not part of the digest, which covers the readings.
        "methods": trip_methods(registry, trip["cargo"], params),
        # Chart points: kept in the stored version so it re-renders without the archive. A
        # reading of a named probe carries it (one line per probe); a single probe's does not.
        "series": [
            [r["event_time"].timestamp(), r["temp"], r["defrost"]]
            + ([r["probe_id"]] if r["probe_id"] is not None else [])
            for r in series
        ],
    }
    return dict(jsonable(content))


def issue(
    conn: psycopg.Connection[Any], registry: Registry, trip_id: str, truck_id: str | None = None
) -> Content:
    """The current version of the trip's report, issuing a new one if the readings changed."""
    if truck_id is None:
        truck_id = str(views.find_trip(conn, trip_id)["truck_id"])
    with conn.transaction():
        # One issuer per trip at a time, so two reports cannot both claim version n + 1.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('logistream.report'), hashtext(%s))",
            [f"{truck_id}|{trip_id}"],
        )
        # The trip as archived now, in this transaction's own copies of the views: a report
        # never waits on a batch run (which may hold the shared views for minutes).
        params = configured_params(get_settings().rules_file)
        recompute_trip_privately(conn, registry, truck_id, trip_id, params)
        content = build_content(conn, registry, truck_id, trip_id, params)
        versions = views.report_versions(conn, truck_id, trip_id)
        if versions and versions[-1]["digest"] == content["digest"]:
            row = conn.execute(
                "SELECT content FROM report_versions WHERE truck_id = %s AND trip_id = %s "
                "AND version = %s",
                [truck_id, trip_id, versions[-1]["version"]],
            ).fetchone()
            assert row is not None
            stored: Content = row[0]
            return stored
        version = versions[-1]["version"] + 1 if versions else 1
        # Stamped now, under the lock and after the content was read, not at the transaction's
        # start (now()), which may be long before: a version never predates an earlier one or
        # the readings it holds. The greatest() keeps stamps increasing if the clock steps back.
        issued = conn.execute(
            "SELECT greatest(clock_timestamp(), max(issued_at) + interval '1 microsecond') "
            "FROM report_versions WHERE truck_id = %s AND trip_id = %s",
            [truck_id, trip_id],
        ).fetchone()
        assert issued is not None
        content["version"] = version
        content["issued_at"] = jsonable(issued[0])
        content["earlier_versions"] = jsonable(versions)
        conn.execute(
            "INSERT INTO report_versions (truck_id, trip_id, version, issued_at, digest, "
            "digest_format, readings, verdict, content) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                truck_id,
                trip_id,
                version,
                issued[0],
                content["digest"],
                content["digest_format"],
                content["readings"],
                content["verdict"] or "n/a",
                json.dumps(content),
            ],
        )
    return content


def fleet_content(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> Content:
    data = views.fleet(conn, start, end)
    data["report"] = "fleet report"
    return dict(jsonable(data))
