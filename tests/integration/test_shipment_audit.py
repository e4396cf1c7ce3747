"""Shipment changes in the audit trail, on a real PostgreSQL: create, cancel, a stage override,
a proof of delivery and a quality manager's release/quarantine each leave exactly one
``audit_log`` row (the actor, source, organisation, before/after, reason), written in the
change's own transaction (a refused change leaves none), the ``by``-only callers get a derived
actor, ``logistream shipments release`` is recorded as the CLI, and ``logistream audit verify``
passes over all of it."""

from __future__ import annotations

import dataclasses
import getpass
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

import logistream.shipments
from logistream.audit.trail import Actor
from logistream.audit.verify import verify
from logistream.config import child_env
from logistream.registry import load_registry
from logistream.serving.users import add_organisation, add_user
from logistream.shipments.carriage import drop_stop
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.pod import PodRequest
from logistream.shipments.releases import record_release
from logistream.shipments.store import ShipmentStore, new_record
from logistream.shipments.wire import StageOverride

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
CREATED = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
PASSWORD = "a long enough password"

ANN = Actor("ann", "dashboard", "carrier")
ERP = Actor("erp-link", "api", None)


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


def _rows(db: AuditDb) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT actor, source, organisation, action, subject_kind, subject_id, before, "
            "after, reason FROM audit_log WHERE subject_kind IN ('shipment', 'lot') ORDER BY seq"
        ).fetchall()


def _verified(db: AuditDb) -> None:
    with db.connect(db.reader_url) as conn:
        result = verify(conn)
    assert result.broken is None, result.line()


def test_each_shipment_change_leaves_one_audit_row(audit_db: AuditDb) -> None:
    with audit_db.connect() as conn:
        add_organisation(conn, "moh-western", "receiver")
        add_user(conn, "wanjiku", "viewer", PASSWORD, "moh-western")
        store = ShipmentStore(conn, REGISTRY)

        store.create(new_record(SHIPMENT, CREATED), "ann", actor=ANN)
        rows = _rows(audit_db)
        assert rows == [
            ("ann", "dashboard", "carrier", "create_shipment", "shipment", SHIPMENT.shipment_id,
             None,
             {"shipment_id": SHIPMENT.shipment_id, "truck_id": SHIPMENT.truck_id,
              "shipper": SHIPMENT.shipper.org_id, "receiver": "moh-western",
              "lots": [lot.number for lot in SHIPMENT.lots],
              "stops": [stop.stop_id for stop in SHIPMENT.stops],
              "status": "active", "version": 1},
             None),
        ]  # fmt: skip

        # A refused change (a second active shipment on the truck) leaves no audit row.
        other = dataclasses.replace(SHIPMENT, shipment_id="SHP-OTHER")
        with pytest.raises(ShipmentError):
            store.create(new_record(other, CREATED), "ann", actor=ANN)
        assert len(_rows(audit_db)) == 1

        override = StageOverride("in_transit", 0, "erp-link", CREATED, "GPS dead, driver called")
        store.override_stage(SHIPMENT.shipment_id, override, actor=ERP)
        again = StageOverride("at_stop", 1, "erp-link", CREATED, "arrived, by phone")
        store.override_stage(SHIPMENT.shipment_id, again, actor=ERP)
        rows = _rows(audit_db)
        assert len(rows) == 3
        assert rows[1] == (
            "erp-link", "api", None, "override_stage", "shipment", SHIPMENT.shipment_id, None,
            {"stage": "in_transit", "stop_index": 0}, "GPS dead, driver called",
        )  # fmt: skip
        assert rows[2][6:] == (
            {"stage": "in_transit", "stop_index": 0},
            {"stage": "at_stop", "stop_index": 1},
            "arrived, by phone",
        )

        lot = SHIPMENT.lots[0].number
        stop = SHIPMENT.stops[drop_stop(SHIPMENT, lot)].stop_id
        request = PodRequest(stop, lot, "accepted", "Wanjiku Otieno", CREATED, "two boxes dented")
        signatory = store.signatory("wanjiku")
        store.record_pod(
            SHIPMENT.shipment_id,
            request,
            signatory,
            actor=Actor("wanjiku", "dashboard", signatory.organisation),
        )
        rows = _rows(audit_db)
        assert len(rows) == 4
        assert rows[3] == (
            "wanjiku", "dashboard", "moh-western", "record_pod", "lot",
            f"{SHIPMENT.shipment_id}/{lot}", None,
            {"decision": "accepted", "signer": "Wanjiku Otieno", "stop": stop,
             "shipment_status": "active"},
            "two boxes dented",
        )  # fmt: skip

        qm = Actor("quinn", "dashboard", "carrier")
        record_release(conn, SHIPMENT.shipment_id, lot, "quarantined", "quinn", "dented", actor=qm)
        record_release(conn, SHIPMENT.shipment_id, lot, "released", "quinn", "checked", actor=qm)
        rows = _rows(audit_db)
        assert len(rows) == 6
        assert rows[4] == (
            "quinn", "dashboard", "carrier", "quarantine_lot", "lot",
            f"{SHIPMENT.shipment_id}/{lot}", None, {"decision": "quarantined", "by": "quinn"},
            "dented",
        )  # fmt: skip
        assert rows[5][3] == "release_lot"
        assert rows[5][6:] == (
            {"decision": "quarantined", "by": "quinn"},
            {"decision": "released", "by": "quinn"},
            "checked",
        )

        # Without an actor, the store derives one from ``by``: cli:<user> is the CLI.
        store.cancel(SHIPMENT.shipment_id, "cli:ops", "customer withdrew")
        rows = _rows(audit_db)
        assert len(rows) == 7
        assert rows[6] == (
            "cli:ops", "cli", "carrier", "cancel_shipment", "shipment", SHIPMENT.shipment_id,
            {"status": "active", "version": 4}, {"status": "cancelled", "version": 5},
            "customer withdrew",
        )  # fmt: skip
    _verified(audit_db)


def test_the_release_command_is_recorded_as_the_cli_and_verify_passes(
    audit_db: AuditDb,
) -> None:
    with audit_db.connect() as conn:
        ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT, CREATED), "simulator")
    lot = SHIPMENT.lots[0].number
    env = child_env(audit_db.settings)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "logistream", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = cli("shipments", "release", SHIPMENT.shipment_id, lot, "--quarantine", "--reason", "x")
    assert done.returncode == 0, done.stderr
    rows = _rows(audit_db)
    assert [r[:6] for r in rows] == [
        ("simulator", "service", "carrier", "create_shipment", "shipment", SHIPMENT.shipment_id),
        (f"cli:{getpass.getuser()}", "cli", "carrier", "quarantine_lot", "lot",
         f"{SHIPMENT.shipment_id}/{lot}"),
    ]  # fmt: skip
    verified = cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
