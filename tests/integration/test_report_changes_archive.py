"""The "Changes on the record" section of the trip and shipment reports, on a real PostgreSQL:
a shipment created, overridden and cancelled lists its three changes in seq order; a trip
overlapping a mode lists the mode's set/end rows (and a mode of another truck or outside the
trip is not listed); a report issued before any change has none, and a change recorded later
issues a new version whose digest is recomputable from the documented format; JSON/CSV in UTC,
the PDF in the display zone.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pypdf
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, insert_readings, made_up_trip
from tests.integration.test_modes_report_archive import TRIP, TRIP_TRUCK, add_mode
from tests.integration.test_shipment_report import CREATED, ID, SHIPMENT, _archive, _readings

from logistream.audit.trail import Actor, record
from logistream.batch.reports.current import current_trip_report
from logistream.batch.reports.render import render
from logistream.batch.reports.shipment import issue as issue_shipment
from logistream.batch.reports.shipment_render import render_shipment
from logistream.batch.reports.trip import issue
from logistream.config import Settings
from logistream.reads.connect import connect_reader
from logistream.registry import cached_registry
from logistream.shipments.store import ShipmentStore, new_record
from logistream.shipments.wire import StageOverride

REGISTRY = cached_registry()
T0 = datetime(2025, 3, 3, 5, 0, tzinfo=UTC)
ANN = Actor("ann", "dashboard")


def _mode_rows(conn: psycopg.Connection[Any], mode_id: str, truck_id: str) -> None:
    """A mode's set and end rows, as modes/store.py writes them."""
    view = {"mode_id": mode_id, "truck_id": truck_id, "status": "active"}
    record(conn, ANN, action="set_mode", subject_kind="mode", subject_id=mode_id,
           before=None, after=view, reason="washout after fish")  # fmt: skip
    record(conn, ANN, action="end_mode", subject_kind="mode", subject_id=mode_id,
           before=view, after={**view, "status": "ended"}, reason="done early")  # fmt: skip


def test_a_shipment_created_overridden_and_cancelled_lists_its_three_changes(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url
    apply_schema(settings)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        store.create(new_record(SHIPMENT, CREATED), "cli:dispatch")
        _archive(conn, _readings())
        # Another shipment's row is not this one's (an id that merely starts like it).
        record(conn, ANN, action="cancel_shipment", subject_kind="shipment",
               subject_id=ID + "X", before=None, after=None)  # fmt: skip
        store.override_stage(
            ID, StageOverride("in_transit", 0, "dispatch", CREATED, "GPS dead"), actor=ANN
        )
        store.cancel(ID, "cli:dispatch", "order withdrawn")
        stored = store.get(ID)
        assert stored is not None
        content = issue_shipment(conn, REGISTRY, stored)

    changes = content["changes"]
    assert [(c["action"], c["subject_id"]) for c in changes] == [
        ("create_shipment", ID),
        ("override_stage", ID),
        ("cancel_shipment", ID),
    ]
    assert [c["seq"] for c in changes] == sorted(c["seq"] for c in changes)
    assert [(c["actor"], c["source"]) for c in changes] == [
        ("cli:dispatch", "cli"),
        ("ann", "dashboard"),
        ("cli:dispatch", "cli"),
    ]
    assert changes[2]["reason"] == "order withdrawn"
    assert changes[2]["change"] == "status: active -> cancelled; version: 2 -> 3"
    assert changes[0]["at"].endswith("+00:00")  # UTC in JSON
    table = list(csv.reader(io.StringIO(render_shipment(content, "csv").decode())))
    header = next(r for r in table if r[:1] == ["changes on the record"])
    rows = [dict(zip(header, r, strict=True)) for r in table if r[:1] == ["change"]]
    assert [r["action"] for r in rows] == ["create_shipment", "override_stage", "cancel_shipment"]
    # A lot's row recorded later (a release, subject '<shipment>/<lot>'): a new version that
    # lists it last; another shipment's lot is not listed.
    lot = SHIPMENT.lots[0].number
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for subject in (f"{ID}X/{lot}", f"{ID}/{lot}"):
            record(conn, ANN, action="release_lot", subject_kind="lot", subject_id=subject,
                   before=None, after={"decision": "released"}, reason="checked")  # fmt: skip
        later = issue_shipment(conn, REGISTRY, stored)
    assert later["version"] == content["version"] + 1
    assert [(c["action"], c["subject_id"]) for c in later["changes"][3:]] == [
        ("release_lot", f"{ID}/{lot}")
    ]
    pdf = tmp_path / "shipment.pdf"
    pdf.write_bytes(render_shipment(content, "pdf", "Africa/Nairobi"))
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "Changes on the record" in text
    assert "order withdrawn" in text


def test_a_trip_lists_the_set_and_end_of_a_mode_over_it_and_a_later_change_reversions(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    insert_readings(url, made_up_trip(seeded_random("report-changes"), step_s=60.0))
    with psycopg.connect(url, autocommit=True) as conn:
        first = issue(conn, REGISTRY, TRIP, TRIP_TRUCK)
        # Issued before any change: none, and the digest is the readings' alone.
        assert (first["version"], first["changes"]) == (1, [])
        assert first["digest_format"] == "logistream-readings-v1"

        start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
        add_mode(conn, "m-wash", TRIP_TRUCK, start, end)
        add_mode(conn, "m-elsewhere", "KBZ 999Z", start, end)
        add_mode(
            conn, "m-later", TRIP_TRUCK, T0 + timedelta(days=3), T0 + timedelta(days=4), "ended"
        )
        _mode_rows(conn, "m-wash", TRIP_TRUCK)
        _mode_rows(conn, "m-elsewhere", "KBZ 999Z")
        _mode_rows(conn, "m-later", TRIP_TRUCK)
        second = issue(conn, REGISTRY, TRIP, TRIP_TRUCK)

    assert second["version"] == 2
    changes = second["changes"]
    assert [(c["action"], c["subject_id"]) for c in changes] == [
        ("set_mode", "m-wash"),
        ("end_mode", "m-wash"),
    ]
    assert changes[1]["change"] == "status: active -> ended"
    assert second["digest_format"] == "logistream-readings-v1+modes-v1+changes-v1"
    # Recomputed from the documented format: the previous digest, LF, "change\tseq\trow_hash".
    with psycopg.connect(url) as conn:
        hashes = dict(
            conn.execute(
                "SELECT seq, row_hash FROM audit_log WHERE subject_id = 'm-wash'"
            ).fetchall()
        )
    from logistream.batch.reports.modes import with_modes

    modes = [
        {**m, "starts_at": datetime.fromisoformat(m["starts_at"]),
         "ends_at": datetime.fromisoformat(m["ends_at"])}
        for m in second["operating_modes"]
    ]  # fmt: skip
    modes_digest, _ = with_modes(first["digest"], modes)
    lines = "".join(f"change\t{c['seq']}\t{hashes[c['seq']]}\n" for c in changes)
    assert second["digest"] == hashlib.sha256(f"{modes_digest}\n{lines}".encode()).hexdigest()

    # Unchanged: the reader computes the same digest and gets version 2 back.
    @contextmanager
    def owner() -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(url) as c:
            yield c

    with connect_reader(settings) as reader:
        assert current_trip_report(reader, owner, REGISTRY, TRIP_TRUCK, TRIP)["version"] == 2
    # A change recorded later on that mode: a new version.
    with psycopg.connect(url, autocommit=True) as conn:
        record(conn, Actor("carla", "api", "carrier"), action="approve_mode", subject_kind="mode",
               subject_id="m-wash", before=None, after={"approved_by": "carla"})  # fmt: skip
    with connect_reader(settings) as reader:
        third = current_trip_report(reader, owner, REGISTRY, TRIP_TRUCK, TRIP)
    assert third["version"] == 3
    assert [c["action"] for c in third["changes"]] == ["set_mode", "end_mode", "approve_mode"]

    table = list(csv.reader(io.StringIO(render(third, "csv").decode())))
    header = next(r for r in table if r[:1] == ["changes on the record"])
    rows = [dict(zip(header, r, strict=True)) for r in table if r[:1] == ["change"]]
    assert [r["action"] for r in rows] == ["set_mode", "end_mode", "approve_mode"]
    assert rows[2]["organisation"] == "carrier"
    pdf = tmp_path / "trip.pdf"
    pdf.write_bytes(render(third, "pdf", "Africa/Nairobi"))
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "Changes on the record" in text
    assert "washout after fish" in text
    assert "EAT" in text


def test_the_rules_files_in_force_are_the_last_before_the_period_and_those_inside(
    settings: Settings,
) -> None:
    """Recorded as a service starting with the file records it (audit.config_files), read on
    the reader's connection: per file the last row before the start, every row inside, none
    after the end; an earlier row of the same file is not listed."""
    from logistream.audit.config_files import record_config_files
    from logistream.reads.audit_changes import changes_touching

    assert settings.database_url
    apply_schema(settings)
    bridge = Actor("bridge", "service")

    def now(conn: psycopg.Connection[Any]) -> datetime:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        value: datetime = row[0]
        return value

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        (old,) = record_config_files(conn, bridge, {"/etc/ls/rules.toml": b"v1"})
        in_force = record_config_files(
            conn, bridge, {"/etc/ls/rules.toml": b"v2", "cargo.toml": b"c1"}
        )
        start = now(conn)
        (inside,) = record_config_files(conn, bridge, {"/etc/ls/rules.toml": b"v3"})
        end = now(conn)
        (after,) = record_config_files(conn, bridge, {"cargo.toml": b"c2"})
    with connect_reader(settings) as reader:
        found = changes_touching(reader, "KBX 123A", start, end)
    assert [c.seq for c in found] == sorted([*in_force, inside])
    assert {old, after}.isdisjoint(c.seq for c in found)
    assert {(c.subject_kind, c.subject_id) for c in found} == {
        ("rules_file", "rules.toml"),
        ("cargo_profiles", "cargo.toml"),
    }
    # No period (a shipment not loaded yet): no rules rows at all.
    with connect_reader(settings) as reader:
        assert changes_touching(reader, "KBX 123A", None, None, "SHP-NONE") == []
