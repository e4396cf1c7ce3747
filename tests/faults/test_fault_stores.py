"""Scenario 4: the stores fail under load.

PostgreSQL is stopped for ~25 s (the issue's "a minute", scaled to the suite's budget) while
readings keep arriving; Redis is killed and restarted empty (its snapshot removed) just before a
door is left open, so the excursion that follows begins during the outage. Afterwards every
reading is archived once, the speed layer has rewritten the views (from its checkpoint and
Kafka), no alert was raised twice, and the excursion's alerts were raised.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import redis
from tests.faults.support import (
    START,
    RecoveryClock,
    Row,
    archive_passed,
    finish,
    pipeline,
    record_recovery,
    speed_passed,
    summary,
)
from tests.helpers import seeded_random, wait_until

from logistream import live_views
from logistream.stack.process import pid_alive

TRUCK = "KCF 337F"
SPEEDUP = 180.0


def _door_opens(messages: list[bytes]) -> float:
    """Event time of the first reading of TRUCK with its door open."""
    for raw in messages:
        body = json.loads(raw)
        if body.get("truck_id") == TRUCK and body.get("door_open"):
            return float(body["timestamp"])
    raise AssertionError(f"{TRUCK} never opens its door in this run")


def test_postgres_stopped_and_redis_restarted_empty_under_load(
    tmp_path: Path, request: Any
) -> None:
    """door_left_open, 6 trucks at 1 Hz (64,800 readings) at speed-up 180 (~60 s of load)."""
    from datetime import datetime

    rng = seeded_random("fault 4: PostgreSQL and Redis outages")
    name = "4 postgres down+redis empty"
    with pipeline(tmp_path) as line:
        stack = line.running.stack
        sim = line.simulation("door_left_open", trucks=6)
        door_wall_s = (_door_opens(sim.messages) - datetime.fromisoformat(START).timestamp()) / (
            SPEEDUP
        )
        speed, bridge = line.speed().start(), line.bridge().start()
        line.wait_ready(speed, bridge)
        simulator = line.simulator(sim, speedup=SPEEDUP).start()
        began = time.monotonic()

        # Redis: killed a few seconds before the door opens, back (empty) after it opened.
        time.sleep(max(0.0, door_wall_s - rng.uniform(2.0, 4.0)))
        pid = stack.redis.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), timeout=30, what="Redis gone")
        (stack.redis.root / "dump.rdb").unlink(missing_ok=True)
        redis_down = time.monotonic()
        time.sleep(max(0.0, began + door_wall_s + rng.uniform(3.0, 6.0) - time.monotonic()))
        stack.redis.up()
        redis_back = time.monotonic()
        print(f"Redis down {redis_back - redis_down:.1f} s around the door opening")
        ends = line.end_offsets(line.settings.topic_telemetry)
        redis_clock = RecoveryClock(speed_passed(line, ends))
        redis_clock.start()

        # PostgreSQL: stopped while the load goes on.
        time.sleep(rng.uniform(1.0, 4.0))
        stack.postgres.down()
        pg_down = time.monotonic()
        outage = rng.uniform(20.0, 28.0)
        time.sleep(outage)
        assert bridge.alive(), "the bridge must wait for PostgreSQL, not exit"
        ends = line.end_offsets(line.settings.topic_telemetry)
        stack.postgres.up()
        pg_clock = RecoveryClock(archive_passed(line, ends))
        pg_clock.start()
        print(f"PostgreSQL down {time.monotonic() - pg_down:.1f} s")

        assert simulator.wait(240) == 0, simulator.tail()
        stats = summary(simulator.out.read_text())
        line.wait_drained()
        record_recovery(name, "redis_down_s", round(redis_back - redis_down, 1))
        record_recovery(name, "redis_back_to_speed_caught_up_s", redis_clock.result())
        record_recovery(name, "postgres_down_s", round(outage, 1))
        record_recovery(name, "postgres_back_to_archive_caught_up_s", pg_clock.result())

        # The views were rebuilt: every truck and every archived alert, in its last state.
        assert line.settings.redis_url
        client = redis.Redis.from_url(line.settings.redis_url)

        def rewritten() -> list[str]:
            ids = live_views.read_truck_ids(client)
            return ids if len(ids) >= 6 else []

        trucks = wait_until(rewritten, timeout=60, what="the truck views rewritten")
        in_redis = {a.alert_id: a for a in live_views.read_alerts(client, limit=100_000)}
        client.close()
        assert speed.stop() == 0, speed.tail()
        assert bridge.stop() == 0, bridge.tail()

        row = Row(name, notes=f"trucks in Redis {len(trucks)}, alerts in Redis {len(in_redis)}")
        complete = stats["acked"] == len(sim.messages) and not stats["left"]
        problems = line.check(
            row, sim.good_ids if complete else set(), sim.expected_alerts, sim.allowed_alerts
        )
        if not complete:
            problems.append(f"simulator: {stats} for {len(sim.messages)} messages")
        archived = {i for ids in line.alert_opens().values() for i in ids}
        if set(in_redis) != archived:
            problems.append(
                f"Redis alerts differ from the archive: only in Redis {set(in_redis) - archived}, "
                f"only archived {archived - set(in_redis)}"
            )
    finish(request, row, problems)
