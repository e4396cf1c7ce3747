"""Operating modes under tenancy on a real PostgreSQL (migration 0071): a shipper or receiver
reads the modes of its shipment's truck that overlap the shipment's window (the truck chart's
bands), not a mode before it, not one pending approval, nothing of another shipper's truck; the
carrier reads every mode, as before."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from tests.integration.test_api_shipments import DOCUMENT, ID, REGISTRY
from tests.integration.test_tenancy_shipments import OTHER, RECEIVER, SHIPPER, _acme

from logistream.api.shipment_input import read_shipment
from logistream.config import Settings
from logistream.reads.connect import connect_reader
from logistream.reads.tenancy import scoped
from logistream.schema.migrate import migrate
from logistream.shipments.store import ShipmentStore, new_record

TRUCK = DOCUMENT["truck_id"]
ACME_TRUCK = _acme()["truck_id"]


def _mode(conn: psycopg.Connection[Any], mode_id: str, truck: str, start: datetime,
          end: datetime, status: str) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO truck_modes (mode_id, truck_id, kind, reason, starts_at, ends_at, set_by, "
        "set_source, status, version) "
        "VALUES (%s, %s, 'washout', 'test', %s, %s, 'dan', 'cli', %s, 1)",
        [mode_id, truck, start, end, status],
    )


def _modes_seen(conn: psycopg.Connection[Any]) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT mode_id FROM truck_modes").fetchall()}


def test_a_tenant_reads_the_modes_of_its_trucks_within_its_windows(settings: Settings) -> None:
    migrate(settings, settings.database_url or "")
    hour = timedelta(hours=1)
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        for document in (DOCUMENT, _acme()):
            store.create(new_record(read_shipment(document, REGISTRY)), "test")
        rows = conn.execute("SELECT shipment_id, created_at FROM shipments").fetchall()
        starts: dict[str, datetime] = {str(r[0]): r[1] for r in rows}
        t0, a0 = starts[ID], starts[OTHER]
        _mode(conn, "m-before", TRUCK, t0 - 3 * hour, t0 - 2 * hour, "ended")
        _mode(conn, "m-during", TRUCK, t0 - hour / 2, t0 + hour, "active")
        _mode(conn, "m-acme", ACME_TRUCK, a0 + hour, a0 + 2 * hour, "ended")
        _mode(conn, "m-refused", ACME_TRUCK, a0 + hour, a0 + 2 * hour, "refused")
    every = {"m-before", "m-during", "m-acme", "m-refused"}
    with connect_reader(settings) as conn:
        assert _modes_seen(conn) == every  # the carrier's reads, without a tenant, as before
        with scoped(conn, "carrier"):
            assert _modes_seen(conn) == every
        for organisation, expected in (
            (SHIPPER, {"m-during"}), (RECEIVER, {"m-during"}), ("acme", {"m-acme"}),
            ("nobody", set()),
        ):  # fmt: skip
            with scoped(conn, organisation):
                assert _modes_seen(conn) == expected, organisation
