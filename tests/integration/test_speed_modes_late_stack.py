"""Operating modes and late readings through the real speed layer (`logistream speed`, real
Kafka and Redis): the hold follows the readings' event time, not when they are processed.

- A mode whose record reaches the speed layer after warm readings inside it: the temperature
  alerts those readings opened are resolved ("held: ...") and recorded as suppressed (the same
  id + ``:held:`` + mode id); no temperature alert is left open.
- A truck with two modes on the topic: late readings (a silence's spool) from the earlier mode,
  sent after the newer mode was set, are held; nothing of the earlier mode opens."""

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

LATE_MODE = "KCB 781C"
TWO_MODES = "KBX 123A"
TEMP_FAMILY = {"temp_high", "temp_low", "temp_critical", "temp_rising", "tor_budget"}


def _readings(truck: str, start: float, first_s: int, stop_s: int, temp: float) -> list:  # type: ignore[type-arg]
    return [
        (truck, reading(truck, start + s, temp, cargo="vaccines"))
        for s in range(first_s, stop_s, 60)
    ]


def _mode(truck: str, mode_id: str, starts_at: float, ends_at: float) -> ModeRecord:
    return ModeRecord(
        mode_id=mode_id,
        truck_id=truck,
        kind="washout",
        reason="after a fish load",
        starts_at=starts_at,
        ends_at=ends_at,
        set_by="cli:ann",
    )


def _publish(settings: Settings, *modes: ModeRecord) -> None:
    ensure_topic(settings)
    producer = make_producer(settings)
    for mode in modes:
        producer.produce(settings.topic_truck_modes, key=mode.truck_id, value=encode_record(mode))
    assert producer.flush(30) == 0


def _open_temp(views: live_views.RedisLiveViews, truck: str) -> set[str]:
    return {a.rule for a in views.open_alerts() if a.truck_id == truck and a.rule in TEMP_FAMILY}


def test_the_hold_follows_the_readings_time_not_the_processing_time(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    start = time.time() - 6000
    # Two modes of one truck, the earlier ended long ago: both on the topic before the start.
    _publish(
        settings,
        _mode(TWO_MODES, "m-first", start, start + 3600),
        _mode(TWO_MODES, "m-second", start + 5000, start + 8000),
    )
    views = live_views.RedisLiveViews(client)
    alerts = TopicReader(settings, settings.topic_alerts)
    with speed_process(settings_env, log=tmp_path / "speed.log"):
        # The mode learned late: 20 min at 15 °C (vaccines 2-8 °C, hard limit 12 °C), no mode.
        produce(settings, _readings(LATE_MODE, start, 0, 1200, 15.0))
        opened = wait_until(
            lambda: (
                {a.rule: a for a in views.open_alerts() if a.truck_id == LATE_MODE}
                if {"temp_high", "temp_critical"} <= _open_temp(views, LATE_MODE)
                else None
            ),
            timeout=60,
            what="temp_high and temp_critical open before the mode is known",
        )
        _publish(settings, _mode(LATE_MODE, "m-late", start - 60, start + 3600))
        wait_until(
            lambda: not _open_temp(views, LATE_MODE),
            timeout=30,
            what="the temperature alerts held once the mode is known",
        )
        held = wait_until(
            lambda: (
                found
                if len(
                    found := [
                        a
                        for a in alerts.alerts()
                        if a.state == "suppressed" and a.truck_id == LATE_MODE
                    ]
                )
                >= 2
                else None
            ),
            timeout=30,
            what="the suppressed changes on truck_alerts",
        )
        assert {(a.alert_id, a.opened_at) for a in held} == {
            (f"{opened[rule].alert_id}:held:m-late", opened[rule].opened_at)
            for rule in ("temp_high", "temp_critical")
        }
        truck = views.truck(LATE_MODE)
        assert truck is not None
        assert truck.mode is not None
        assert truck.mode.mode_id == "m-late"

        # Two modes: warm inside the first (held), back in range after it, then the silence's
        # readings from inside the first mode, sent late while the second is known.
        produce(settings, _readings(TWO_MODES, start, 0, 660, 15.0))
        produce(settings, _readings(TWO_MODES, start, 4000, 4660, 5.0))
        wait_until(
            lambda: (
                (t := views.truck(TWO_MODES)) is not None and t.reading.timestamp == start + 4600
            ),
            timeout=60,
            what="the second truck's newest reading in Redis",
        )
        produce(settings, _readings(TWO_MODES, start, 660, 3600, 15.0))
        # A live reading after the spool, on the same partition: once it is in Redis, the spool
        # has been processed (held, it changes nothing to see).
        produce(settings, _readings(TWO_MODES, start, 4680, 4740, 5.0))
        wait_until(
            lambda: (
                (t := views.truck(TWO_MODES)) is not None and t.reading.timestamp == start + 4680
            ),
            timeout=60,
            what="the reading after the spool in Redis",
        )
        alerts.poll(2.0)
        changes = [a for a in alerts.alerts() if a.truck_id == TWO_MODES]
        assert not [a for a in changes if a.state == "open" and a.rule in TEMP_FAMILY]
        assert {a.rule for a in changes if a.state == "suppressed"} == {
            "temp_high",
            "temp_critical",
        }
        assert not _open_temp(views, TWO_MODES)
    alerts.close()
