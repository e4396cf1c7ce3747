"""An operating mode through the real speed layer: a washout record on the `truck_modes` topic,
warm readings through `logistream speed`; the temperature alarms are held (a `suppressed` change
on truck_alerts, no open temperature alert, the mode shown in the truck's live view), and once
the mode has ended by its end time the excursion still going alarms with its normal delays."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from tests.helpers import wait_until
from tests.integration.speed_support import TopicReader, produce, reading, speed_process

from logistream import live_views
from logistream.config import Settings
from logistream.kafka import make_producer
from logistream.modes.publish import ensure_topic
from logistream.modes.wire import ModeRecord, encode_record

TRUCK = "KCB 781C"
TEMP_FAMILY = {"temp_high", "temp_low", "temp_critical", "temp_rising", "tor_budget"}


def _warm(start: float, first_s: int, stop_s: int) -> list[tuple[str | None, bytes]]:
    return [
        (TRUCK, reading(TRUCK, start + s, 15.0, cargo="vaccines"))
        for s in range(first_s, stop_s, 60)
    ]


def test_a_washout_holds_the_temperature_alarms_until_its_end(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    start = time.time() - 3000
    mode = ModeRecord(
        mode_id="m-washout-1",
        truck_id=TRUCK,
        kind="washout",
        reason="after a fish load",
        starts_at=start - 60,
        ends_at=start + 1200,
        set_by="cli:ann",
    )
    ensure_topic(settings)
    producer = make_producer(settings)
    producer.produce(settings.topic_truck_modes, key=TRUCK, value=encode_record(mode))
    assert producer.flush(30) == 0

    views = live_views.RedisLiveViews(client)
    alerts = TopicReader(settings, settings.topic_alerts)
    with speed_process(settings_env, log=tmp_path / "speed.log"):
        # 20 min at 15 °C inside the mode (vaccines: 2-8 °C, hard limit 12 °C).
        produce(settings, _warm(start, 0, 1200))
        truck = wait_until(
            lambda: (
                (t := views.truck(TRUCK)) is not None and t.reading.timestamp == start + 1140 and t
            ),
            timeout=60,
            what="the truck's newest reading in Redis",
        )
        assert truck.mode is not None
        assert (truck.mode.mode_id, truck.mode.kind, truck.mode.ends_at) == (
            mode.mode_id,
            "washout",
            start + 1200,
        )
        held = wait_until(
            lambda: (
                {a.rule: a for a in alerts.alerts() if a.state == "suppressed"}
                if {"temp_high", "temp_critical"} <= {a.rule for a in alerts.alerts()}
                else None
            ),
            timeout=30,
            what="the suppressed changes on truck_alerts",
        )
        assert sorted(held) == ["temp_critical", "temp_high"]
        assert held["temp_high"].alert_id.endswith(":held:m-washout-1")
        assert held["temp_high"].opened_at == start + 600
        assert held["temp_high"].message.startswith(
            f"held: {TRUCK} (vaccines) in washout mode (after a fish load) until "
        )
        assert "temp_high would have opened at 15.0 °C for 10 min" in held["temp_high"].message
        # Nothing opened: not on the topic, not in the live views.
        assert not [a for a in alerts.alerts() if a.state == "open" and a.rule in TEMP_FAMILY]
        assert not [a for a in views.open_alerts() if a.truck_id == TRUCK]
        # Held alarms are records: they are not among the open alerts in the views either.
        assert views.alert(held["temp_high"].alert_id) is not None

        # The mode ends by itself at its end time; the excursion goes on and alarms as usual.
        produce(settings, _warm(start, 1200, 2400))
        opened = wait_until(
            lambda: (
                {a.rule: a for a in views.open_alerts() if a.truck_id == TRUCK}
                if {"temp_high", "temp_critical"}
                <= {a.rule for a in views.open_alerts() if a.truck_id == TRUCK}
                else None
            ),
            timeout=60,
            what="temp_high and temp_critical open after the mode",
        )
        assert opened["temp_critical"].opened_at == start + 1260
        assert opened["temp_high"].opened_at == start + 1800
        assert views.truck(TRUCK).mode is None  # type: ignore[union-attr]
        # Each held rule was recorded once in the mode, not once per reading.
        suppressed = [a for a in alerts.alerts() if a.state == "suppressed"]
        assert sorted(a.rule for a in suppressed) == ["temp_critical", "temp_high"]
    alerts.close()
