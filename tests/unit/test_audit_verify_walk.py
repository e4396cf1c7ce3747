"""The verify walk (pure): an intact chain, an altered row, a seq gap, a broken link, progress
every 250k rows, and the one-line reports; and ``audit list``'s filter and line format."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from logistream.audit.chain import GENESIS_HASH, ChainRow, row_hash
from logistream.audit.listing import AuditFilter, format_row, list_query, parse_since
from logistream.audit.verify import PROGRESS_EVERY, ChainWalker, walk
from logistream.errors import Refused

T0 = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def _chain(n: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        row = ChainRow(
            seq,
            T0 + timedelta(seconds=seq),
            "alice",
            "cli",
            None,
            "create",
            "shipment",
            f"S-{seq}",
            None,
            {"i": seq},
            None,
        )
        this = row_hash(prev, row)
        rows.append((*dataclasses.astuple(row), prev, this))
        prev = this
    return rows


def test_an_intact_chain() -> None:
    rows = _chain(5)
    result = walk(rows)
    assert (result.rows, result.last_seq, result.last_hash, result.broken) == (
        5,
        5,
        rows[-1][12],
        None,
    )
    assert result.line() == f"audit log intact: 5 rows, last hash {rows[-1][12]}"


def test_empty() -> None:
    assert walk([]).line() == f"audit log intact: 0 rows, last hash {GENESIS_HASH}"


def test_an_altered_field_is_named_with_its_seq() -> None:
    rows = _chain(5)
    rows[2] = (*rows[2][:9], {"i": 99}, *rows[2][10:])
    result = walk(rows)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind, result.rows) == (3, "altered", 2)
    assert result.line().startswith("audit log altered at seq 3: its hash does not match")
    assert "backup" in result.line()


@pytest.mark.parametrize(
    ("removed", "at", "says"),
    [
        ([2], 3, "seq 2 missing before it"),
        ([2, 3, 4], 5, "seqs 2-4 missing before it"),
        ([1], 2, "seq 1 missing before it"),
    ],
)
def test_a_gap_is_a_deleted_row(removed: list[int], at: int, says: str) -> None:
    rows = [r for r in _chain(5) if r[0] not in removed]
    result = walk(rows)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind, result.broken.detail) == (at, "deleted", says)


def test_a_renumbered_deletion_breaks_the_link() -> None:
    rows = _chain(5)
    del rows[1]
    rows = [(i + 1, *r[1:]) for i, r in enumerate(rows)]
    result = walk(rows)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (2, "deleted")
    assert "prev_hash does not match seq 1's hash" in result.broken.detail


def test_a_first_row_not_on_the_genesis_hash() -> None:
    rows = _chain(2)
    rows[0] = (*rows[0][:11], "f" * 64, rows[0][12])
    result = walk(rows)
    assert result.broken is not None
    assert "does not match the genesis hash" in result.broken.detail


def test_the_walker_stops_at_the_first_break() -> None:
    rows = _chain(4)
    rows[1] = (*rows[1][:2], "mallory", *rows[1][3:])
    walker = ChainWalker()
    found = [walker.feed(r) for r in rows]
    assert [b.seq if b else None for b in found] == [None, 2, 2, 2]


def test_progress_every_n_rows() -> None:
    seen: list[int] = []
    walk(_chain(5), seen.append, every=2)
    assert seen == [2, 4]
    assert PROGRESS_EVERY == 250_000


def test_list_query_filters_and_limits() -> None:
    since = datetime(2026, 12, 8, tzinfo=UTC)
    sql, params = list_query(AuditFilter(kind="shipment", actor="alice", since=since, limit=5))
    assert "WHERE subject_kind = %s AND actor = %s AND at >= %s" in sql
    assert sql.endswith("ORDER BY seq DESC LIMIT %s")
    assert params == ["shipment", "alice", since, 5]
    sql, params = list_query(AuditFilter())
    assert "WHERE" not in sql
    assert params == [50]
    with pytest.raises(Refused, match="--limit"):
        list_query(AuditFilter(limit=0))


def test_since_is_read_in_the_display_zone() -> None:
    assert parse_since("2026-12-08", "Africa/Nairobi").astimezone(UTC) == datetime(
        2026, 12, 7, 21, 0, tzinfo=UTC
    )
    assert parse_since("2026-12-08T14:30", "UTC") == datetime(2026, 12, 8, 14, 30, tzinfo=UTC)
    assert parse_since("2026-12-08T14:30+01:00", "UTC").astimezone(UTC).hour == 13
    with pytest.raises(Refused, match="--since 'yesterday'"):
        parse_since("yesterday", "UTC")


def test_a_row_for_people() -> None:
    row = (
        12,
        T0,
        "alice",
        "dashboard",
        "acme",
        "cancel",
        "shipment",
        "S-1",
        {"status": "active"},
        {"status": "cancelled"},
        "asked",
    )
    assert format_row(row, "Africa/Nairobi") == (
        "#12 2026-12-08 05:00:00 EAT alice (dashboard, acme) cancel shipment S-1: "
        '{"status":"active"} -> {"status":"cancelled"} (asked)'
    )
    long = (
        1,
        T0,
        "svc",
        "service",
        None,
        "rules_file_changed",
        "rules_file",
        "rules.toml",
        None,
        {"x": "y" * 500},
        None,
    )
    line = format_row(long, "UTC")
    assert line.startswith("#1 2026-12-08 02:00:00 UTC svc (service) rules_file_changed")
    assert line.endswith("…")
