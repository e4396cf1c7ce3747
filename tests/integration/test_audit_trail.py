"""audit.trail.record on a real PostgreSQL: rows chained from the genesis hash, JSON values
(datetimes as ISO text) stored and hashed as read back, the caller's transaction honoured
(a rollback leaves no row and no seq gap), and two threads appending at once still give one
chain in seq order."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

from logistream.audit.chain import GENESIS_HASH, ChainRow, row_hash
from logistream.audit.trail import Actor, record
from logistream.errors import Refused


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


ALICE = Actor("alice", "dashboard", None)
TOKEN = Actor("erp-link", "api", "acme-pharma")


def _rows(db: AuditDb) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT seq, at, actor, source, organisation, action, subject_kind, subject_id,"
            " before, after, reason, prev_hash, row_hash FROM audit_log ORDER BY seq"
        ).fetchall()


def _recomputed(row: tuple[Any, ...]) -> str:
    return row_hash(row[11], ChainRow(*row[:11]))


def test_record_chains_rows_from_the_genesis_hash(audit_db: AuditDb) -> None:
    when = datetime(2026, 12, 8, 2, 0, 0, 123456, tzinfo=UTC)
    with audit_db.connect() as conn:
        first = record(
            conn,
            ALICE,
            action="cancel",
            subject_kind="shipment",
            subject_id="S-1",
            before={"status": "active", "at": when},
            after={"status": "cancelled"},
            reason="customer asked",
        )
        second = record(
            conn,
            TOKEN,
            action="pod",
            subject_kind="lot",
            subject_id="S-1/MR-1",
            before=None,
            after={"signer": "Jane", "quantity": 1.5, "ok": True},
        )
    assert (first, second) == (1, 2)
    rows = _rows(audit_db)
    assert [r[0] for r in rows] == [1, 2]
    assert rows[0][8] == {"status": "active", "at": "2026-12-08T02:00:00.123456+00:00"}
    assert rows[0][11] == GENESIS_HASH
    assert rows[1][11] == rows[0][12]
    assert [r[3] for r in rows] == ["dashboard", "api"]
    assert rows[1][4] == "acme-pharma"
    assert all(_recomputed(r) == r[12] for r in rows)


def test_record_joins_the_callers_transaction(audit_db: AuditDb) -> None:
    with audit_db.connect() as conn:
        conn.autocommit = False
        record(
            conn,
            ALICE,
            action="create",
            subject_kind="shipment",
            subject_id="S-1",
            before=None,
            after={"v": 1},
        )
        conn.rollback()
        seq = record(
            conn,
            ALICE,
            action="create",
            subject_kind="shipment",
            subject_id="S-2",
            before=None,
            after={"v": 1},
        )
        conn.commit()
    # The rolled-back row left neither a row nor a gap: the next one is seq 1 again.
    assert seq == 1
    assert [(r[0], r[7]) for r in _rows(audit_db)] == [(1, "S-2")]


def test_record_refuses_bad_input_before_writing(audit_db: AuditDb) -> None:
    with audit_db.connect() as conn:
        with pytest.raises(Refused, match="source"):
            record(
                conn,
                Actor("x", "email"),
                action="a",
                subject_kind="k",  # type: ignore[arg-type]
                subject_id="1",
                before=None,
                after=None,
            )
        with pytest.raises(Refused, match="after"):
            record(
                conn,
                ALICE,
                action="a",
                subject_kind="k",
                subject_id="1",
                before=None,
                after={"x": object()},
            )
        with pytest.raises(Refused, match="after"):
            record(
                conn,
                ALICE,
                action="a",
                subject_kind="k",
                subject_id="1",
                before=None,
                after={"x": float("nan")},
            )
    assert _rows(audit_db) == []


def test_two_threads_appending_make_one_chain_in_seq_order(audit_db: AuditDb) -> None:
    per_thread = 60
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        try:
            with audit_db.connect() as conn:
                start.wait()
                for i in range(per_thread):
                    # Half in explicit transactions that do a little more work after the
                    # append, so the two writers really overlap inside the lock.
                    if i % 2:
                        with conn.transaction():
                            record(
                                conn,
                                Actor(name, "service"),
                                action="ack",
                                subject_kind="alert",
                                subject_id=f"{name}-{i}",
                                before=None,
                                after={"i": i},
                            )
                            conn.execute("SELECT pg_sleep(0.001)")
                    else:
                        record(
                            conn,
                            Actor(name, "service"),
                            action="ack",
                            subject_kind="alert",
                            subject_id=f"{name}-{i}",
                            before=None,
                            after={"i": i},
                        )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("speed", "notify")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    rows = _rows(audit_db)
    assert [r[0] for r in rows] == list(range(1, 2 * per_thread + 1))
    previous = GENESIS_HASH
    for row in rows:
        assert row[11] == previous
        assert _recomputed(row) == row[12]
        previous = row[12]
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(rows))
    assert {r[2] for r in rows} == {"speed", "notify"}
