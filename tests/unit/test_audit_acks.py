"""The audit row of an acknowledgement, built without a server: action ``ack`` on the alert,
``before`` the alert's state, ``after`` who/truck/rule/trip/note/command id (``via`` for a
link), the note as the reason (none when blank); and what it says when it was not recorded."""

from __future__ import annotations

from logistream.audit.acks import AckNotRecorded, ack_entry
from logistream.audit.trail import to_json_text
from logistream.commands import ack_command
from logistream.errors import StoreUnavailable
from logistream.events import Alert


def _alert() -> Alert:
    return Alert(
        alert_id="a-1",
        truck_id="KBX 123A",
        rule="temp_high",
        severity="major",
        state="open",
        opened_at=1_700_000_000.0,
        changed_at=1_700_000_000.0,
        message="8.4 °C over 8.0 °C",
        trip_id="trip-9",
    )


def test_an_ack_is_recorded_on_the_alert_with_who_what_and_the_note_as_reason() -> None:
    alert = _alert()
    command = ack_command(alert, "erp-qa", "driver re-set the unit", now=1_700_000_100.0)
    entry = ack_entry(alert, command)
    assert entry == {
        "action": "ack",
        "subject_kind": "alert",
        "subject_id": "a-1",
        "before": {"state": "open"},
        "after": {
            "by": "erp-qa",
            "truck": "KBX 123A",
            "rule": "temp_high",
            "trip": "trip-9",
            "note": "driver re-set the unit",
            "command_id": command.command_id,
        },
        "reason": "driver re-set the unit",
    }
    assert to_json_text(entry["after"], "after") is not None  # what record() stores


def test_a_link_says_so_and_a_blank_note_is_no_reason() -> None:
    alert = _alert()
    entry = ack_entry(alert, ack_command(alert, "Amina Otieno", "   "), "ack_link")
    assert entry["after"]["via"] == "ack_link"
    assert entry["reason"] is None


def test_an_ack_sent_but_not_recorded_is_a_postgres_outage_that_says_so() -> None:
    error = AckNotRecorded("the acknowledgement of alert a-1 was sent, but ...")
    assert isinstance(error, StoreUnavailable)
    assert error.store == "postgres"  # the API answers 503 postgres_unavailable
