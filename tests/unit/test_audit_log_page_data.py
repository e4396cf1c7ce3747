"""The Audit trail page's pure logic: who may read it, the diff text (changed keys only), the
display-zone day range, the filters as SQL parameters, the CSV and the chain sentence."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from logistream.audit.verify import ChainBreak, VerifyResult
from logistream.reads.audit_log import AuditRow, TrailFilter, like_pattern, page_query, where_clause
from logistream.serving import audit_log_data as ad

NAIROBI = "Africa/Nairobi"


def _row(**changes: object) -> AuditRow:
    base: dict[str, object] = {
        "seq": 7,
        "at": datetime(2026, 12, 7, 15, 30, tzinfo=UTC),
        "actor": "ann",
        "source": "cli",
        "organisation": None,
        "action": "cancel",
        "subject_kind": "shipment",
        "subject_id": "S-1",
        "before": {"status": "active", "lot": "L1"},
        "after": {"status": "cancelled", "lot": "L1"},
        "reason": "asked by the shipper",
    }
    base.update(changes)
    return AuditRow(**base)  # type: ignore[arg-type]


def test_only_admins_read_the_trail_today() -> None:
    assert ad.can_read_audit_trail("admin")
    assert not ad.can_read_audit_trail("dispatcher")
    assert not ad.can_read_audit_trail("viewer")


def test_the_diff_names_only_the_changed_keys() -> None:
    assert ad.diff_text(
        {"status": "active", "lot": "L1"}, {"status": "cancelled", "lot": "L1"}
    ) == ("status: active -> cancelled")
    assert (
        ad.diff_text({"a": 1, "b": 2}, {"b": 3, "c": None}) == "a: 1 -> —; b: 2 -> 3; c: — -> null"
    )
    assert ad.diff_text(None, {"status": "active"}) == "status: — -> active"
    assert ad.diff_text({"x": [1, 2]}, {"x": [1, 2]}) == "—"
    assert ad.diff_text(None, None) == "—"


def test_long_values_and_long_diffs_are_cut() -> None:
    text = ad.diff_text({"note": "a" * 100}, {"note": "b"})
    assert text == "note: " + "a" * (ad.VALUE_CHARS - 1) + "… -> b"
    many = ad.diff_text(None, {f"k{i:03}": "v" * 30 for i in range(50)})
    assert len(many) == ad.DIFF_CHARS
    assert many.endswith("…")


def test_the_day_range_is_whole_days_in_the_display_zone() -> None:
    start, end = ad.day_range(date(2026, 12, 7), date(2026, 12, 8), NAIROBI)
    assert start == datetime(2026, 12, 6, 21, tzinfo=UTC)
    assert end == datetime(2026, 12, 8, 21, tzinfo=UTC)
    assert ad.day_range(None, None, NAIROBI) == (None, None)


def test_no_filter_reads_every_row_newest_first() -> None:
    sql, params = page_query(TrailFilter(), 201)
    assert "WHERE" not in sql
    assert sql.endswith("ORDER BY seq DESC LIMIT %s OFFSET %s")
    assert params == [201, 0]


def test_each_filter_becomes_its_condition_and_parameter_in_order() -> None:
    start = datetime(2026, 12, 6, 21, tzinfo=UTC)
    end = datetime(2026, 12, 7, 21, tzinfo=UTC)
    wanted = TrailFilter("shipment", "S-1", "ann", "cli", "cancel", start, end)
    condition, params = where_clause(wanted)
    assert condition == (
        " WHERE subject_kind = %s AND actor = %s AND source = %s AND action = %s "
        "AND subject_id ILIKE %s AND at >= %s AND at < %s"
    )
    assert params == ["shipment", "ann", "cli", "cancel", "%S-1%", start, end]
    _, paged = page_query(wanted, 201, 400)
    assert paged[-2:] == [201, 400]


def test_the_subject_pattern_takes_wildcards_literally() -> None:
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_a_bad_page_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        page_query(TrailFilter(), 0)
    with pytest.raises(ValueError, match="limit"):
        page_query(TrailFilter(), 10, -1)


def test_table_rows_are_for_people() -> None:
    [row] = ad.table_rows([_row()], NAIROBI)
    assert row == {
        "#": 7,
        "When": "2026-12-07 18:30:00 EAT",
        "Who": "ann",
        "From": "CLI",
        "Organisation": "carrier",
        "What": "cancel",
        "Subject": "shipment S-1",
        "Change": "status: active -> cancelled",
        "Reason": "asked by the shipper",
    }


def test_the_csv_carries_the_full_before_and_after() -> None:
    text = ad.csv_text([_row(organisation="acme", reason=None)], NAIROBI)
    header, line = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == ad.CSV_HEADER
    got = dict(zip(header, line, strict=True))
    assert got["at_utc"] == "2026-12-07T15:30:00+00:00"
    assert got["organisation"] == "acme"
    assert got["reason"] == ""
    assert got["before"] == '{"lot": "L1", "status": "active"}'


def test_the_chain_sentence() -> None:
    assert ad.chain_message(VerifyResult(12, 12, "h", None)) == (
        True,
        "The chain is intact: 12 rows (last #12).",
    )
    broken = ChainBreak(5, "altered", "its hash does not match its content (a field was changed)")
    intact, text = ad.chain_message(VerifyResult(4, 4, "h", broken))
    assert not intact
    assert text.startswith("The chain breaks at row #5 (altered): its hash does not match")
