"""The Alerts page's pure logic: what the acknowledge picker offers after an acknowledgement, and
column widths that fit what a column will hold, not what it held when first drawn."""

from __future__ import annotations

from typing import get_args

from logistream.events import Alert, AlertState
from logistream.registry import load_registry
from logistream.serving import alerts_data


def _alert(
    alert_id: str, severity: str, state: str, opened: float, truck: str = "KCK 293K"
) -> Alert:
    return Alert(
        alert_id=alert_id, truck_id=truck, rule="temp_high",
        severity=severity,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        opened_at=opened, changed_at=opened, message="m",
    )  # fmt: skip


def test_the_picker_offers_open_alerts_not_yet_sent_most_severe_first() -> None:
    alerts = [
        _alert("w", "warning", "open", 10.0),
        _alert("m", "major", "open", 20.0),
        _alert("c", "critical", "acknowledged", 5.0),
    ]
    choices = alerts_data.ack_choices(alerts, sent=set())
    assert [a.alert_id for a in choices.waiting] == ["m", "w"]
    assert choices.sent == []

    # "m" acknowledged from this page, not applied yet: the picker moves on to "w".
    choices = alerts_data.ack_choices(alerts, sent={"m"})
    assert [a.alert_id for a in choices.waiting] == ["w"]
    assert [a.alert_id for a in choices.sent] == ["m"]
    assert choices.still_sent == {"m"}
    assert alerts_data.sent_text(choices.sent) == "Sent, not applied yet: KCK 293K temp_high."


def test_an_applied_or_vanished_ack_is_no_longer_listed_as_sent() -> None:
    alerts = [_alert("m", "major", "acknowledged", 20.0), _alert("w", "warning", "open", 10.0)]
    choices = alerts_data.ack_choices(alerts, sent={"m", "gone"})
    assert [a.alert_id for a in choices.waiting] == ["w"]
    assert choices.sent == []
    assert choices.still_sent == set()
    assert alerts_data.sent_text([]) == ""


def test_the_state_column_fits_every_state_and_the_note_column_is_wide() -> None:
    widths = alerts_data.COLUMN_WIDTHS
    state_width = widths["state"]
    assert isinstance(state_width, int)
    for state in get_args(AlertState):
        assert alerts_data.text_width_px(state) <= state_width, state
    assert widths["note"] == "large"
    assert widths["acknowledged by"] == widths["by"] == alerts_data.text_width_px("a" * 15)
    # Every width named is a column of the page's tables.
    alert = _alert("m", "major", "open", 20.0)
    (row,) = alerts_data.table([alert], load_registry(), "UTC", 30.0)
    (change,) = alerts_data.change_rows([alert], "UTC")
    assert set(widths) <= set(row) | set(change)


def test_text_width_grows_with_the_text() -> None:
    assert alerts_data.text_width_px("open") < alerts_data.text_width_px("acknowledged")
    assert alerts_data.text_width_px("acknowledged") >= 12 * 7
