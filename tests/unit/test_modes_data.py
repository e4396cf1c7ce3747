"""The Operating modes page's pure logic: who sees which form, the table rows (times in the
display zone, refused and ended-early modes said so), the modes that are over, and the end time
the form proposes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from logistream.modes.store import StoredMode
from logistream.serving import modes_data as md

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ZONE = "Africa/Nairobi"

WASHOUT = StoredMode(
    mode_id="mode-1", truck_id="KCB 781C", kind="washout", reason="weekly wash",
    starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=2), ended_at=None,
    ended_by=None, end_reason=None, set_by="ann", set_source="dashboard", status="active",
    approved_by=None, approved_at=None, version=1, published_version=1,
    created_at=NOW - timedelta(hours=1),
)  # fmt: skip


def test_who_sees_which_form() -> None:
    assert md.can_set("dispatcher", "carrier")
    assert md.can_set("admin", None)
    assert not md.can_set("viewer", "carrier")
    assert not md.can_set("dispatcher", "kemsa")  # a shipper's user
    assert md.can_approve("admin", "carrier")
    assert not md.can_approve("dispatcher", "carrier")
    assert not md.can_approve("admin", "moh-western")


def test_rows_in_the_display_zone() -> None:
    refused = dataclasses.replace(
        WASHOUT, mode_id="mode-2", status="refused", approved_by="bob", kind="maintenance"
    )
    ended = dataclasses.replace(
        WASHOUT, mode_id="mode-3", status="ended", ended_at=NOW - timedelta(minutes=30),
        ended_by="ann", end_reason="done early",
    )  # fmt: skip
    rows = md.mode_rows([WASHOUT, refused, ended], ZONE, NOW)
    assert rows[0] == {
        "Truck": "KCB 781C", "Kind": "washout", "Reason": "weekly wash",
        "From": "2026-12-07 14:00 EAT", "To": "2026-12-07 17:00 EAT",
        "Set by": "ann (dashboard)", "Status": "in force", "Approved by": "—",
        "Ended early": "—", "Mode": "mode-1",
    }  # fmt: skip
    assert (rows[1]["Status"], rows[1]["Approved by"]) == ("refused", "refused by bob")
    assert (rows[2]["To"], rows[2]["Ended early"]) == (
        "2026-12-07 14:30 EAT",
        "ended by ann: done early",
    )


def test_over_keeps_the_ended_refused_and_expired_newest_first() -> None:
    expired = dataclasses.replace(WASHOUT, mode_id="mode-4", ends_at=NOW - timedelta(minutes=1))
    refused = dataclasses.replace(WASHOUT, mode_id="mode-5", status="refused")
    found = md.over([WASHOUT, expired, refused], NOW)
    assert [m.mode_id for m in found] == ["mode-4", "mode-5"]
    many = [dataclasses.replace(refused, mode_id=f"m{i}") for i in range(md.RECENT + 5)]
    assert len(md.over(many, NOW)) == md.RECENT


def test_the_proposed_end_time_is_in_the_display_zone() -> None:
    assert md.default_until(NOW, ZONE) == "2026-12-07T19:00"
    assert md.default_until(NOW, "UTC") == "2026-12-07T16:00"
