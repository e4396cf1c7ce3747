"""The shipment report: per lot, its carriage, stages, excursions, MKT, time out of range against
the budget, sensor faults, notifications and acknowledgements, proof of delivery, the release
verdict with its reason and the quality manager's decision; versioned and digest-signed.

Where each part comes from:
- Stages: recomputed from the archived GPS readings with the speed layer's stage machine and the
  ``[shipments]`` dwell of the rules file, then the dispatcher's overrides from
  ``shipment_changes`` applied at their time (``reads.shipment_readings.stage_changes``): the
  batch is the check of the speed layer, so it never reads the speed layer's own stages.
- The carriage of a lot runs from the arrival at the origin (loading) to its handover: its
  PoD's signed time, else the arrival at its drop stop, else the moment of issue
  (:mod:`logistream.shipments.carriage`). A lot still on the truck is judged up to what the
  records hold (``reads.shipment_readings.archived_until``: the newest archived reading, change
  or release decision), so issuing it again with nothing new recorded gives the same version.
- Figures: :mod:`logistream.shipments.lot_figures`, the trip views' maths with the rules file's
  thresholds; verdict: :func:`logistream.shipments.verdict.release_verdict`.
- Notifications and alerts: the truck's, open at any moment of the lot's carriage (the trip
  report's rule), with who acknowledged.
- Digest: ``logistream-readings-v1`` (:mod:`digest`'s canonical lines) over every archived reading
  of the truck from the loading to the last handover (``digest_selection``); anyone holding the
  archive can recompute it (:func:`verify`).

Versions (``shipment_report_versions``, 0052) are append-only. A version is reused when what it
shows is unchanged (the same fingerprint: the content without the issuance stamps); otherwise
version n + 1 is stored, stamped under the issuer lock as the trip report's are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.batch.reports.changes import changes_section
from logistream.batch.reports.digest import DIGEST_FORMAT, digest_rows
from logistream.batch.reports.methods import method_params
from logistream.batch.reports.modes import modes_section
from logistream.batch.reports.trip import jsonable
from logistream.batch.views.recompute import configured_params
from logistream.coldchain.params import BatchParams
from logistream.config import get_settings
from logistream.figure_names import Figure, methods_json
from logistream.reads import shipment_readings as sr
from logistream.reads.notifications import trip_notifications
from logistream.registry import CargoProfile, Registry
from logistream.shipments.carriage import Carriage, carriage, loaded_at
from logistream.shipments.lot_figures import LotAnalysis, LotReading, analyse
from logistream.shipments.releases import release_log
from logistream.shipments.stages import StageChange
from logistream.shipments.verdict import release_verdict

if TYPE_CHECKING:
    import psycopg

    from logistream.shipments.wire import ShipmentRecord

Content = dict[str, Any]
REPORT: Final = "shipment report"
ISSUANCE: Final = ("version", "issued_at", "earlier_versions", "fingerprint")
"""Fields stamped at issue: left out of the fingerprint."""

_RANK = {"fail": 0, "review": 1, "pass": 2}

DIGEST_QUERY: Final = """
SELECT r.event_id, (extract(epoch FROM r.event_time) * 1000000)::bigint, r.truck_id, r.trip_id,
       r.temp, r.fuel, r.lat, r.lon, r.speed_kmh, r.door_open, r.reefer_on, r.defrost
FROM readings r
WHERE r.truck_id = %s AND r.event_time >= %s AND r.event_time <= %s
ORDER BY r.event_time, r.event_id
"""
"""The canonical rows of ``logistream-readings-v1``, selected by truck and event-time span."""


def lot_figure_names() -> tuple[Figure, ...]:
    """The figures only a shipment report has, named in full with their method."""
    return (
        Figure(
            "carriage",
            "Carriage",
            "Carriage (loading to handover)",
            "From the truck's arrival at the origin (it stayed inside the origin's geofence for "
            "the dwell; the first stage reached) to the lot's handover: its proof of delivery's "
            "signed time, else the arrival at its drop stop, else the moment of issue.",
        ),
        Figure(
            "stages",
            "Stages",
            "Stages (recomputed from the archived GPS readings)",
            "The speed layer's stage machine replayed over the truck's archived positions with "
            "the rules file's dwell in and out of each geofence, a dispatcher's overrides "
            "applied at the time they were made.",
        ),
        Figure(
            "coverage",
            "Coverage",
            "Coverage (share of the carriage with readings)",
            "The time the readings stand for (each until the next, capped) over the carriage; "
            "several probes: the lowest.",
        ),
        Figure(
            "sensor_fault_s",
            "Sensor-fault time",
            "Sensor-fault time (the air went unmeasured)",
            "From the first implausible reading of a run to the next plausible one, summed; "
            "several probes: the longest.",
        ),
        Figure(
            "release_verdict",
            "Release verdict",
            "Lot release verdict (pass, review or fail)",
            "Fail: rejected at proof of delivery, a hard limit passed, TOR reached the budget "
            "or MKT above the range's upper limit; review: any excursion or TOR within the "
            "budget, any sensor-fault time, uncovered carriage time of at least the budget, or "
            "no readings; pass otherwise. Several probes: each is judged, the lot takes the "
            "lowest minimum, highest maximum and MKT, longest TOR.",
        ),
        Figure(
            "release",
            "Decision",
            "Quality manager's decision (released or quarantined)",
            "The newest decision logged with `logistream shipments release`; earlier ones are "
            "listed.",
        ),
    )


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _stage_row(record: ShipmentRecord, c: StageChange) -> dict[str, Any]:
    stop = record.shipment.stops[c.stop]
    return {
        "stage": c.stage,
        "stop": c.stop,
        "stop_id": stop.stop_id,
        "stop_name": stop.name,
        "at": _iso(c.at),
        "cause": c.cause,
    }


def _figures_json(a: LotAnalysis) -> dict[str, Any]:
    f = a.figures
    return {
        "readings": f.readings,
        "probes": list(f.probes),
        "min_c": f.min_c,
        "max_c": f.max_c,
        "mkt_c": f.mkt_c,
        "tor_s": f.tor_min * 60.0,
        "tor_budget_s": f.tor_budget_min * 60.0,
        "excursions": f.excursions,
        "longest_excursion_s": f.longest_excursion_min * 60.0,
        "hard_limit_passed": f.hard_limit_passed,
        "sensor_fault_s": f.sensor_fault_min * 60.0,
        "coverage": f.coverage,
        "carriage_s": f.carriage_min * 60.0,
    }


def _lot_section(
    conn: psycopg.Connection[Any],
    record: ShipmentRecord,
    profile: CargoProfile,
    params: BatchParams,
    lot_number: str,
    span: Carriage,
    readings: list[LotReading],
    changes: list[StageChange],
    pod: dict[str, Any] | None,
    releases: list[dict[str, Any]],
) -> dict[str, Any]:
    shipment = record.shipment
    lot = shipment.lot(lot_number)
    assert lot is not None
    drop = shipment.stops[span.drop]
    rejected = pod is not None and pod["decision"] == "rejected"
    analysis = analyse(
        lot_number,
        readings,
        span.start,
        span.end,
        profile,
        hold_max_s=params.hold_max_s,
        confirm_readings=params.critical_confirm_readings,
        confirm_s=params.critical_confirm_s,
        clear_s=params.critical_clear_s,
        rejected_at_pod=rejected,
        pod_by=str(pod["signer_name"]) if pod else "",
        pod_stop=drop.name if pod else "",
        pod_note=str(pod["note"]) if pod else "",
    )
    verdict = release_verdict(analysis.figures, profile)
    start, end = span.start, span.end
    inside = [_stage_row(record, c) for c in changes if start is not None and start <= c.at <= end]
    excursions = [
        {
            "probe_id": p.probe_id,
            "kind": e.kind,
            "start": _iso(e.start),
            "end": _iso(e.end),
            "ongoing": e.ongoing,
            "duration_s": e.duration_s,
            "out_s": e.out_s,
            "peak_c": e.peak_c,
            "peak_at": _iso(e.peak_at),
        }
        for p in analysis.probes
        for e in p.compliance.excursions
    ]
    faults = [
        {
            "probe_id": p.probe_id,
            "start": _iso(f.start),
            "end": _iso(f.end),
            "ongoing": f.ongoing,
            "readings": f.readings,
            "min_c": f.min_c,
            "max_c": f.max_c,
        }
        for p in analysis.probes
        for f in p.faults
    ]
    window = (_dt(start), _dt(end)) if start is not None else None
    return {
        "lot": lot_number,
        "product": lot.product,
        "quantity": lot.quantity,
        "unit": lot.unit,
        "expiry": lot.expiry.isoformat() if lot.expiry else None,
        "drop_stop": span.drop,
        "drop_stop_name": drop.name,
        "carriage": {
            "start": _iso(start),
            "end": _iso(end) if start is not None else None,
            "ended_by": span.ended_by,
            "seconds": span.seconds,
        },
        "stages": inside,
        "figures": _figures_json(analysis),
        "excursions": sorted(excursions, key=lambda e: (e["start"], e["probe_id"])),
        "sensor_faults": sorted(faults, key=lambda f: (f["start"], f["probe_id"])),
        "notifications": (trip_notifications(conn, shipment.truck_id, *window) if window else []),
        "alerts": sr.alerts_during(conn, shipment.truck_id, *window) if window else [],
        "proof_of_delivery": pod,
        "verdict": verdict.outcome,
        "reason": verdict.reason,
        "release": releases[-1] if releases else None,
        "releases": releases,
    }


@dataclass(frozen=True, slots=True)
class Selection:
    """The readings a shipment report's digest covers: the truck's, in ``[start, end]``."""

    truck_id: str
    start: datetime
    end: datetime


def shipment_digest(conn: psycopg.Connection[Any], selection: Selection) -> tuple[str, int]:
    """The digest of the selected readings as archived now (streamed)."""
    with conn.cursor(name="logistream_shipment_digest") as cur:
        cur.execute(DIGEST_QUERY.encode(), [selection.truck_id, selection.start, selection.end])
        return digest_rows(cur)


def _selection_json(s: Selection | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"truck_id": s.truck_id, "from": s.start.isoformat(), "to": s.end.isoformat()}


def verify(conn: psycopg.Connection[Any], content: Content) -> bool:
    """Whether the archive still holds exactly the readings the report's digest covers."""
    selected = content.get("digest_selection")
    if selected is None:
        return bool(content.get("digest") == hashlib.sha256().hexdigest())
    selection = Selection(
        selected["truck_id"],
        datetime.fromisoformat(selected["from"]),
        datetime.fromisoformat(selected["to"]),
    )
    with conn.transaction():  # a server-side cursor streams the readings
        digest, count = shipment_digest(conn, selection)
    return digest == content.get("digest") and count == content.get("readings")


def build_content(
    conn: psycopg.Connection[Any],
    registry: Registry,
    record: ShipmentRecord,
    now: datetime,
    params: BatchParams | None = None,
) -> Content:
    """Everything the report shows, as the archive and the shipments tables are now."""
    if params is None:
        params = configured_params(get_settings().rules_file)
    shipment = record.shipment
    profile = registry.cargo.get(shipment.cargo) or registry.cargo["default"]
    changes = sr.stage_changes(conn, record, now)
    pods = sr.proofs_of_delivery(conn, shipment.shipment_id)
    log = release_log(conn, shipment.shipment_id)
    spans = {
        lot.number: carriage(
            shipment,
            lot.number,
            changes,
            now.timestamp(),
            pods[lot.number]["signed_at"].timestamp() if lot.number in pods else None,
        )
        for lot in shipment.lots
    }
    loading = loaded_at(changes)
    selection: Selection | None = None
    readings: list[LotReading] = []
    if loading is not None:
        last = max(s.end for s in spans.values())
        selection = Selection(shipment.truck_id, _dt(loading), _dt(last))
        # One read of the probes over the whole span; each lot keeps its own carriage.
        readings = sr.temperatures(conn, record, _dt(loading - 1.0), _dt(last))
    lots = [
        _lot_section(
            conn,
            record,
            profile,
            params,
            lot.number,
            spans[lot.number],
            readings,
            changes,
            jsonable(pods.get(lot.number)),
            [r.as_json() for r in log if r.lot == lot.number],
        )
        for lot in shipment.lots
    ]
    worst = min(lots, key=lambda lot: (_RANK[lot["verdict"]], lot["lot"]))
    if selection is not None:
        digest, count = shipment_digest(conn, selection)
    else:
        digest, count = digest_rows([])
    # The truck's operating modes from the loading to the last handover and the alarms held in
    # them (issue 18): part of the content, so the fingerprint that decides versions covers them.
    modes = (
        modes_section(conn, shipment.truck_id, selection.start, selection.end)
        if selection is not None
        else []
    )
    # The audit rows of the shipment and its lots, and those that touched the carriage (the
    # truck's modes over it, the rules files in force): the fingerprint covers them, so a change
    # recorded later gives a new version (batch/reports/changes.py). Not loaded yet: no
    # carriage, so the shipment's and its lots' rows alone. Every row visible now is listed,
    # not only those before the as-of: reuse is decided by the fingerprint, so an unchanged
    # record still gives the same version.
    on_record = changes_section(
        conn,
        shipment.truck_id,
        selection.start if selection is not None else None,
        selection.end if selection is not None else None,
        shipment.shipment_id,
        [lot.number for lot in shipment.lots],
    )
    methods = methods_json(method_params(profile, params))
    methods.update({f.key: f.as_json() for f in lot_figure_names()})
    content: Content = {
        "report": REPORT,
        "shipment_id": shipment.shipment_id,
        "reference": shipment.reference,
        "status": record.status,
        "shipper": {"id": shipment.shipper.org_id, "name": shipment.shipper.name},
        "receiver": {"id": shipment.receiver.org_id, "name": shipment.receiver.name},
        "cargo": shipment.cargo,
        "cargo_label": profile.label,
        "low_c": profile.low_c,
        "high_c": profile.high_c,
        "truck_id": shipment.truck_id,
        "probes": list(shipment.probes),
        "stops": [
            {
                "stop_id": s.stop_id,
                "name": s.name,
                "kind": s.kind,
                "window_start": s.window_start.isoformat(),
                "window_end": s.window_end.isoformat(),
                "drops": list(s.drops),
            }
            for s in shipment.stops
        ],
        "stages": [_stage_row(record, c) for c in changes],
        "lots": lots,
        "operating_modes": modes,
        "changes": on_record,
        "verdict": worst["verdict"],
        "reason": f"lot {worst['lot']}: {worst['reason']}",
        "readings": count,
        "digest": digest,
        "digest_format": DIGEST_FORMAT,
        "digest_selection": _selection_json(selection),
        "methods": methods,
    }
    return dict(jsonable(content))


def fingerprint(content: Content) -> str:
    """SHA-256 of what the report shows (issuance stamps left out), canonical JSON."""
    shown = {k: v for k, v in content.items() if k not in ISSUANCE}
    text = json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def versions(conn: psycopg.Connection[Any], shipment_id: str) -> list[dict[str, Any]]:
    """The shipment's issued versions, in the order they were committed."""
    cur = conn.execute(
        "SELECT version, issued_at, digest, digest_format, readings, verdict, "
        "content->>'fingerprint' AS fingerprint FROM shipment_report_versions "
        "WHERE shipment_id = %s ORDER BY version",
        [shipment_id],
    )
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def issue(
    conn: psycopg.Connection[Any],
    registry: Registry,
    record: ShipmentRecord,
    now: datetime | None = None,
) -> Content:
    """The current version of the shipment's report, issuing a new one if what it shows
    changed since the latest."""
    shipment_id = record.shipment.shipment_id
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('logistream.shipment_report'), hashtext(%s))",
            [shipment_id],
        )
        as_of = now or sr.archived_until(conn, record, datetime.now(UTC))
        content = build_content(conn, registry, record, as_of)
        content["fingerprint"] = fingerprint(content)
        earlier = versions(conn, shipment_id)
        if earlier and earlier[-1]["fingerprint"] == content["fingerprint"]:
            row = conn.execute(
                "SELECT content FROM shipment_report_versions "
                "WHERE shipment_id = %s AND version = %s",
                [shipment_id, earlier[-1]["version"]],
            ).fetchone()
            assert row is not None
            stored: Content = row[0]
            return stored
        # Stamped under the lock, never before an earlier version (as trip.issue does).
        issued = conn.execute(
            "SELECT greatest(clock_timestamp(), max(issued_at) + interval '1 microsecond') "
            "FROM shipment_report_versions WHERE shipment_id = %s",
            [shipment_id],
        ).fetchone()
        assert issued is not None
        content["version"] = earlier[-1]["version"] + 1 if earlier else 1
        content["issued_at"] = jsonable(issued[0])
        content["earlier_versions"] = jsonable(
            [{k: v for k, v in e.items() if k != "fingerprint"} for e in earlier]
        )
        conn.execute(
            "INSERT INTO shipment_report_versions (shipment_id, version, issued_at, digest, "
            "digest_format, readings, verdict, content) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                shipment_id,
                content["version"],
                issued[0],
                content["digest"],
                DIGEST_FORMAT,
                content["readings"],
                content["verdict"],
                json.dumps(content),
            ],
        )
    return content


def issue_for(conn: psycopg.Connection[Any], registry: Registry, shipment_id: str) -> Content:
    """:func:`issue` for a shipment by id; :class:`NotFound` when there is none, one line."""
    from logistream.errors import NotFound, SchemaMissing
    from logistream.shipments.store import ShipmentStore

    tables = conn.execute("SELECT to_regclass('shipment_report_versions') IS NOT NULL").fetchone()
    if not tables or not tables[0]:
        conn.rollback()
        raise SchemaMissing(
            "shipment_report_versions", "the shipment report's table is missing: run "
            "`logistream migrate` first",
        )  # fmt: skip
    record = ShipmentStore(conn, registry).get(shipment_id)
    if record is None:
        raise NotFound(
            "shipment",
            shipment_id,
            f"no shipment {shipment_id!r}; `logistream shipments list` shows the shipments",
        )
    return issue(conn, registry, record)
