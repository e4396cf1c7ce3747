"""The Alerts page after an acknowledgement, in Streamlit's AppTest over real Kafka and Redis.

The acknowledgement goes to the real ``alert_commands`` topic; where the test needs it applied,
a thread stands in for the speed process's loop only: it reads the command from Kafka and applies
it with the speed layer's own ``engine.acknowledge`` and ``ViewWriter``, as ``logistream speed``
does. Without it the page must say the acknowledgement is not applied yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from confluent_kafka import Consumer
from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data
from tests.integration.test_dashboard_pages import _page, _texts, dashboard

from logistream.config import Settings
from logistream.events import decode_command
from logistream.live_views import RedisLiveViews
from logistream.serving.users import User
from logistream.speed import engine
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

__all__ = ["dashboard"]

NOTE = "Driver told to stop at Voi depot and check the reefer unit"


@contextmanager
def speed_applies_acks(settings: Settings) -> Iterator[list[str]]:
    """Apply every acknowledgement published on the test's ``alert_commands`` to the live views,
    with the speed layer's own step and writer; yields the ids applied so far."""
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    views, writer = RedisLiveViews(client), ViewWriter(client)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"ack-applier-{time.time()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([settings.topic_commands])
    applied: list[str] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            message = consumer.poll(0.2)
            if message is None or message.error() is not None or message.value() is None:
                continue
            command = decode_command(message.value())
            alert, view = views.alert(command.alert_id), views.truck(command.truck_id)
            assert alert is not None
            assert view is not None
            state = TruckState(
                truck_id=view.truck_id, last=view.reading, alerts={alert.rule: alert}
            )
            step = engine.acknowledge(state, command)
            writer.write_batch([step.state], {}, list(step.changes))
            applied.append(command.alert_id)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        yield applied
    finally:
        stop.set()
        worker.join(10)
        consumer.close()
        client.close()


def _acknowledge(page: AppTest, alert_id: str, note: str = NOTE) -> None:
    page.selectbox[0].set_value(alert_id)
    page.text_input[0].input(note)
    page.button[0].click().run(timeout=60)
    assert not page.exception


def test_after_an_applied_ack_the_picker_moves_to_an_alert_still_open(dashboard: Settings) -> None:
    page = _page("alerts", User("dan", "dispatcher"))
    # Labels name the truck second; most severe first.
    assert [a.split(" · ")[1] for a in page.selectbox[0].options] == [
        data.HOT_TRUCK,
        data.COOL_TRUCK,
    ]
    with speed_applies_acks(dashboard) as applied:
        _acknowledge(page, "a-hot-1")
        assert applied == ["a-hot-1"]
        assert [s.value for s in page.success] == [
            f"{data.HOT_TRUCK} temp_high: acknowledged by dan."
        ], "the result stays on screen after the page is redrawn"
        picker = page.selectbox[0]
        assert picker.value == "a-warn-1", "the picker moved off the acknowledged alert"
        assert [a.split(" · ")[1] for a in picker.options] == [data.COOL_TRUCK]

        # The last open alert acknowledged: the page says nothing waits, and keeps the result.
        _acknowledge(page, "a-warn-1", note="Called the driver")
        assert applied == ["a-hot-1", "a-warn-1"]
    assert not page.selectbox, "no alert left to pick"
    assert "Nothing waits for an acknowledgement." in _texts(page)
    assert [s.value for s in page.success] == [f"{data.COOL_TRUCK} speeding: acknowledged by dan."]


def test_an_ack_not_applied_yet_leaves_the_picker_and_is_listed_as_sent(
    dashboard: Settings,
) -> None:
    page = _page("alerts", User("dan", "dispatcher"))
    _acknowledge(page, "a-hot-1")  # no speed layer runs: sent, not applied
    assert any("has not applied it yet" in w.value for w in page.warning)
    assert page.selectbox[0].value == "a-warn-1"
    assert [a.split(" · ")[1] for a in page.selectbox[0].options] == [data.COOL_TRUCK]
    assert f"Sent, not applied yet: {data.HOT_TRUCK} temp_high" in _texts(page)


def _widths(page: AppTest, index: int) -> dict[str, object]:
    """The column widths a dataframe was given (Streamlit's column config, as sent)."""
    import json

    config = json.loads(page.dataframe[index].proto.columns or "{}")
    return {name: column.get("width") for name, column in config.items()}


def test_state_and_note_columns_are_sized_for_what_they_will_hold(dashboard: Settings) -> None:
    # The grid sizes a column to its first contents and keeps that size as the data refreshes:
    # a state column sized for "open" cut "acknowledged", an empty note column cut the note.
    page = _page("alerts", User("dan", "dispatcher"))
    open_alerts, changes = _widths(page, 0), _widths(page, 1)
    assert isinstance(open_alerts.get("state"), int)
    assert open_alerts["state"] >= 110
    assert isinstance(changes.get("state"), int)
    assert changes["state"] >= 110
    assert changes.get("note") == "large"
    assert open_alerts.get("acknowledged by") == changes.get("by") == 136  # 15 characters
