"""Migration planning (pure): file names, order, checksums, pending set."""

from __future__ import annotations

import pytest

from logistream.schema.migrate import (
    MigrationError,
    parse_migrations,
    pending,
    shipped_migrations,
)


def test_shipped_migrations_start_at_one_in_increasing_order() -> None:
    shipped = shipped_migrations()
    versions = [m.version for m in shipped]
    assert versions[0] == 1
    assert versions == sorted(set(versions))
    sql = "\n".join(m.sql for m in shipped)
    for needed in ("truck_history", "readings", "kafka_offsets", "rejected_readings",
                   "alert_changes", "bridge_heartbeat", "ensure_reading_partition",
                   "SECURITY DEFINER", "USING brin", "jsonb"):  # fmt: skip
        assert needed in sql


def test_order_is_by_version_not_by_listing() -> None:
    found = parse_migrations({"0002_b.sql": "B", "0001_a.sql": "A"})
    assert [(m.version, m.name, m.sql) for m in found] == [(1, "a", "A"), (2, "b", "B")]


@pytest.mark.parametrize(
    "files",
    [{"1_a.sql": ""}, {"0001_A.sql": ""}, {"0001_a.txt": ""}, {"0001_a.sql": "", "0001_b.sql": ""}],
)
def test_bad_names_and_clashes_are_refused(files: dict[str, str]) -> None:
    with pytest.raises(MigrationError):
        parse_migrations(files)


def test_pending_skips_applied_and_refuses_edits_and_unknown_versions() -> None:
    a, b = parse_migrations({"0001_a.sql": "A", "0002_b.sql": "B"})
    assert pending([a, b], {}) == [a, b]
    assert pending([a, b], {1: a.checksum}) == [b]
    with pytest.raises(MigrationError, match="edited"):
        pending([a, b], {1: "other"})
    with pytest.raises(MigrationError, match="newer"):
        pending([a], {1: a.checksum, 2: b.checksum})


def test_blocks_may_leave_gaps_and_grow_after_a_later_block_was_applied() -> None:
    a, c = parse_migrations({"0001_a.sql": "A", "0030_c.sql": "C"})
    assert pending([a, c], {}) == [a, c]
    a, b, c = parse_migrations({"0001_a.sql": "A", "0012_b.sql": "B", "0030_c.sql": "C"})
    assert pending([a, b, c], {1: a.checksum, 30: c.checksum}) == [b]
