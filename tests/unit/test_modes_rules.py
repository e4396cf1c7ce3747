"""The rules of operating modes, without servers: who may set and approve, the fields a mode
must have (kind, reason, end time within 7 days), --until in the display zone, and the record
and status a stored row gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from logistream.errors import Refused
from logistream.modes.cli import describe, parse_until
from logistream.modes.rules import (
    MAX_AHEAD,
    ModeActor,
    check_kind,
    check_may_approve,
    check_may_set,
    check_reason,
    check_times,
    is_carrier,
)
from logistream.modes.store import StoredMode

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
DISPATCHER = ModeActor("ann", "cli", "dispatcher")
ADMIN = ModeActor("boss", "cli", "admin", "carrier")
VIEWER = ModeActor("vic", "dashboard", "viewer")
SHIPPER_TOKEN = ModeActor("kemsa-bot", "api", None, "kemsa")
CARRIER_TOKEN = ModeActor("tms", "api", None, None)


def _refusal(call: object, *args: object) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_the_carrier_is_no_organisation_or_carrier() -> None:
    assert is_carrier(None)
    assert is_carrier("carrier")
    assert not is_carrier("kemsa")


def test_dispatchers_admins_and_carrier_tokens_set_modes() -> None:
    for actor in (DISPATCHER, ADMIN, CARRIER_TOKEN):
        check_may_set(actor)


def test_a_viewer_may_not_set_a_mode() -> None:
    error = _refusal(check_may_set, VIEWER)
    assert (error.reason, error.field) == ("forbidden", "role")
    assert str(error).startswith("role: ")
    assert "viewer" in str(error)


def test_a_quality_manager_may_not_set_a_mode() -> None:
    # A quality manager reads the audit trail and the reports; it changes nothing.
    error = _refusal(check_may_set, replace(VIEWER, role="quality_manager"))
    assert (error.reason, error.field) == ("forbidden", "role")
    assert "is a quality_manager; a dispatcher or an admin sets or ends a mode" in str(error)


def test_a_shippers_token_or_user_may_not_set_a_mode() -> None:
    for actor in (SHIPPER_TOKEN, ModeActor("kem", "dashboard", "admin", "kemsa")):
        error = _refusal(check_may_set, actor)
        assert (error.reason, error.field) == ("forbidden", "organisation")


def test_approval_by_a_carrier_admin_who_did_not_set_it() -> None:
    check_may_approve(ADMIN, "ann")
    check_may_approve(CARRIER_TOKEN, "ann")


@pytest.mark.parametrize(
    ("actor", "field"),
    [
        (ModeActor("ann", "cli", "admin"), "approved_by"),  # the same person
        (ModeActor("ann", "api", None), "approved_by"),  # the same name through a token
        (ModeActor("dan", "cli", "dispatcher"), "role"),
        (VIEWER, "role"),
        (ModeActor("kem", "cli", "admin", "kemsa"), "organisation"),
        (SHIPPER_TOKEN, "organisation"),
    ],
)
def test_approval_refusals(actor: ModeActor, field: str) -> None:
    error = _refusal(check_may_approve, actor, "ann")
    assert (error.reason, error.field) == ("forbidden", field)
    assert str(error).startswith(f"{field}: ")


def test_kind_must_be_one_of_three() -> None:
    for kind in ("precooling", "maintenance", "washout"):
        check_kind(kind)
    error = _refusal(check_kind, "party")
    assert error.field == "kind"
    assert "washout" in str(error)


def test_reason_is_needed_and_tidied() -> None:
    assert check_reason("  after   fish\n") == "after fish"
    assert _refusal(check_reason, "   ").field == "reason"
    assert _refusal(check_reason, "x" * 501).field == "reason"


def test_end_after_start_and_at_most_seven_days_ahead() -> None:
    check_times(NOW, NOW + timedelta(minutes=1))
    check_times(NOW, NOW + MAX_AHEAD)
    assert timedelta(days=7) == MAX_AHEAD
    for ends in (NOW, NOW - timedelta(hours=1), NOW + MAX_AHEAD + timedelta(seconds=1)):
        error = _refusal(check_times, NOW, ends)
        assert (error.reason, error.field) == ("invalid", "ends_at")
    assert "7 days" in str(_refusal(check_times, NOW, NOW + timedelta(days=8)))


def test_until_is_read_in_the_display_zone_unless_it_has_an_offset() -> None:
    assert parse_until("2026-12-07T18:00", "Africa/Nairobi") == datetime(
        2026, 12, 7, 15, 0, tzinfo=UTC
    )
    assert parse_until("2026-12-07T18:00+00:00", "Africa/Nairobi") == datetime(
        2026, 12, 7, 18, 0, tzinfo=UTC
    )
    assert _refusal(parse_until, "tomorrow", "UTC").field == "until"


def _stored(**changes: object) -> StoredMode:
    values: dict[str, object] = {
        "mode_id": "mode-1",
        "truck_id": "KCB 781C",
        "kind": "washout",
        "reason": "after fish",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(hours=3),
        "ended_at": None,
        "ended_by": None,
        "end_reason": None,
        "set_by": "ann",
        "set_source": "cli",
        "status": "active",
        "approved_by": None,
        "approved_at": None,
        "version": 1,
        "published_version": 0,
        "created_at": NOW,
    }
    values.update(changes)
    return StoredMode(**values)  # type: ignore[arg-type]


def test_a_stored_mode_as_its_record() -> None:
    ended = NOW + timedelta(hours=1)
    record = _stored(ended_at=ended, status="ended", version=2, approved_by="boss").record()
    assert record.starts_at == NOW.timestamp()
    assert record.ends_at == (NOW + timedelta(hours=3)).timestamp()
    assert record.ended_at == ended.timestamp()
    assert (record.approved_by, record.version, record.set_by) == ("boss", 2, "ann")
    assert record.active_at(NOW.timestamp())
    assert not record.active_at(ended.timestamp())


def test_a_mode_past_its_end_time_shows_as_ended() -> None:
    mode = _stored()
    assert mode.shown_status(NOW + timedelta(hours=2, minutes=59)) == "active"
    assert mode.shown_status(NOW + timedelta(hours=3)) == "ended"
    assert _stored(status="refused").shown_status(NOW + timedelta(days=1)) == "refused"


def test_describe_shows_times_in_the_display_zone() -> None:
    line = describe(_stored(approved_by="boss"), "Africa/Nairobi", NOW)
    assert "mode-1  KCB 781C  washout  active" in line
    assert "18:00" in line
    assert "set by ann, approved by boss: after fish" in line
