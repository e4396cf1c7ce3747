"""Late readings on real Kafka: a truck's stored readings, sent after newer live ones, still
raise the excursion they hold, marked late; the gap's sensor_offline says they arrived."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from tests.helpers import wait_until
from tests.integration.speed_support import TopicReader, produce, reading, speed_process

from logistream import live_views
from logistream.config import Settings
from logistream.events import Alert

TRUCK = "KBX 123A"  # vaccines in the registry: 2-8 °C, temp_high after 10 min
VOI = {"lat": -3.3961, "lon": 38.5561, "cargo": "vaccines", "trip_id": "BF-1"}


def _at(t0: float, minute: float, temp: float) -> tuple[str, bytes]:
    return TRUCK, reading(TRUCK, t0 + minute * 60, temp, **VOI)


def test_a_backfilled_excursion_raises_a_late_alert(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    t0 = time.time() - 2 * 3600
    halves = [m / 2 for m in range(0, 91)]  # every 30 s over 45 min
    live = [_at(t0, m, 5.0) for m in halves if m <= 10 or m >= 40]
    stored = [_at(t0, m, 9.5 if 15 <= m < 35 else 5.0) for m in halves if 10 < m < 40]
    # Live readings first (the last one at 45 min), then the truck's store, oldest first.
    produce(settings, live + stored)
    topic = TopicReader(settings, settings.topic_alerts)
    with speed_process(settings_env, log=tmp_path / "speed.log"):

        def late_high() -> list[Alert]:
            return [a for a in topic.alerts() if a.rule == "temp_high"]

        highs = wait_until(lambda: len(late_high()) == 2 and late_high(), what="late temp_high")
        assert [a.state for a in highs] == ["open", "resolved"]
        assert highs[0].opened_at == t0 + 25 * 60  # 15 min + the 10 min alarm delay
        assert highs[0].known_at == t0 + 45 * 60  # the newest live reading when it arrived
        assert highs[1].resolved_at == t0 + 35 * 60
        assert "late: known 20 min after" in highs[0].message
        offline = [a for a in topic.alerts() if a.rule == "sensor_offline"]
        assert [a.state for a in offline] == ["open", "resolved", "resolved"]
        assert "arrived later" in offline[-1].message
        # The live view shows the late alert with its event times, and no open alert remains.
        stored_alert = live_views.read_alert(client, highs[0].alert_id)
        assert stored_alert is not None
        assert stored_alert.state == "resolved"
        assert stored_alert.known_at == t0 + 45 * 60
        assert live_views.read_open_alerts(client) == []
    topic.close()
