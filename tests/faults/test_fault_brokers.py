"""Scenarios 1, 2 and 7: Kafka brokers crash, bounce, or are out of the simulator's reach.

1. kill -9 the leader of the busiest partitions of a 3-node cluster under load, then restart it.
2. Hard-bounce the single-node broker five times while producing (SIGKILL, restart).
7. The simulator cut off from Kafka (broker down), killed -9 and restarted while still offline:
   its spool delivers everything once. "Minutes" offline are scaled to ~35 s for the budget.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.faults.support import (
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


def _caught_up_clock(line: Any) -> RecoveryClock:
    ends = line.end_offsets(line.settings.topic_telemetry)
    clock = RecoveryClock(lambda: speed_passed(line, ends)() and archive_passed(line, ends)())
    clock.start()
    return clock


def test_kill_9_the_leader_of_the_busiest_partitions_on_a_3_node_cluster(
    tmp_path: Path, request: Any
) -> None:
    """speeding, 12 trucks at 1 Hz (86,400 readings) at speed-up 200 (~45 s of load).

    Only the dead node's partitions stall, so the speed layer allows 2 h of event-time
    lateness: 36 s at this speed-up, more than the outage plus the failover."""
    rng = seeded_random("fault 1: kill -9 the busiest leader")
    name = "1 kill -9 leader (3 brokers)"
    with pipeline(tmp_path, brokers=3) as line:
        kafka = line.running.kafka
        topic = line.settings.topic_telemetry
        sim = line.simulation("speeding")
        speed, bridge = line.speed(lateness_s=7200).start(), line.bridge().start()
        line.wait_ready(speed, bridge)
        simulator = line.simulator(sim, speedup=200).start()
        time.sleep(rng.uniform(6.0, 14.0))
        ends = line.end_offsets(topic)
        busiest = max(ends, key=lambda p: ends[p])
        leader = kafka.leader(topic, busiest)
        led = sorted(p for p in ends if kafka.leader(topic, p) == leader)
        print(f"ends {ends}: killing node {leader}, leader of partitions {led}")
        kafka.node(leader).kill()
        down_for = rng.uniform(8.0, 15.0)
        time.sleep(down_for)
        wait_until(lambda: kafka.leader(topic, busiest) not in (-1, leader), timeout=60,
                   what="a new leader")  # fmt: skip
        restarted = time.monotonic()
        kafka.node(leader).start()
        clock = _caught_up_clock(line)
        kafka.wait_in_sync([topic, line.settings.topic_alerts], timeout_s=180)
        in_sync_s = time.monotonic() - restarted
        assert simulator.wait(240) == 0, simulator.tail()
        stats = summary(simulator.out.read_text())
        line.wait_drained()
        record_recovery(name, "down_s", round(down_for, 1))
        record_recovery(name, "restart_to_in_sync_s", round(in_sync_s, 2))
        record_recovery(name, "restart_to_caught_up_s", clock.result())
        assert speed.stop() == 0, speed.tail()
        assert bridge.stop() == 0, bridge.tail()

        row = Row(name, notes=f"killed node {leader} (partitions {led}) for {down_for:.1f} s")
        complete = stats["acked"] == len(sim.messages) and not stats["left"]
        problems = line.check(
            row, sim.good_ids if complete else set(), sim.expected_alerts, sim.allowed_alerts
        )
        if not complete:
            problems.append(f"simulator: {stats} for {len(sim.messages)} messages")
    finish(request, row, problems)


def test_hard_bounce_the_single_broker_five_times_while_producing(
    tmp_path: Path, request: Any
) -> None:
    """sensor_offline, 12 trucks at 1 Hz (63,300 readings) at speed-up 45 (~117 s of load).

    The five bounces take 75-97 s (a restart listens after ~12 s), so the load outlasts them."""
    rng = seeded_random("fault 2: bounce the broker")
    name = "2 bounce broker x5"
    with pipeline(tmp_path) as line:
        node = line.running.kafka.node(1)
        sim = line.simulation("sensor_offline")
        speed, bridge = line.speed().start(), line.bridge().start()
        line.wait_ready(speed, bridge)
        simulator = line.simulator(sim, speedup=45).start()
        bounces: list[float] = []
        for i in range(5):
            time.sleep(rng.uniform(2.0, 5.0))
            node.kill()
            down = rng.uniform(0.5, 2.0)
            time.sleep(down)
            began = time.monotonic()
            node.start()
            bounces.append(round(time.monotonic() - began, 2))
            print(f"bounce {i + 1}: down {down:.1f} s, listening again after {bounces[-1]} s")
        # The run must outlast the bounces, or it ends offline and keeps its spool for later.
        assert simulator.alive(), "the simulator ended before the last bounce: slow it down"
        clock = _caught_up_clock(line)
        assert simulator.wait(300) == 0, simulator.tail()
        stats = summary(simulator.out.read_text())
        line.wait_drained()
        record_recovery(name, "restart_to_listening_s", bounces)
        record_recovery(name, "last_restart_to_caught_up_s", clock.result())
        assert speed.stop() == 0, speed.tail()
        assert bridge.stop() == 0, bridge.tail()

        row = Row(name, notes=f"simulator {stats}")
        complete = stats["acked"] == len(sim.messages) and not stats["left"]
        problems = line.check(
            row, sim.good_ids if complete else set(), sim.expected_alerts, sim.allowed_alerts
        )
        if not complete:
            problems.append(f"simulator: {stats} for {len(sim.messages)} messages")
    finish(request, row, problems)


def _spooled_ids(folder: Path) -> list[str]:
    """Event ids of the readings waiting in a spool folder (read-only)."""
    from logistream.ingest.spool import SUFFIX, _records

    out = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        for _key, value in _records(path.read_bytes()):
            out.append(json.loads(value)["event_id"])
    return out


def test_simulator_offline_killed_and_restarted_delivers_its_spool_once(
    tmp_path: Path, request: Any
) -> None:
    """A clean fleet (12 trucks, 1 Hz) at speed-up 30; the broker is down for ~35 s, during
    which the simulator is killed -9 and a second run (a later day) starts, still offline."""
    rng = seeded_random("fault 7: simulator offline")
    name = "7 simulator offline+kill"
    with pipeline(tmp_path) as line:
        node = line.running.kafka.node(1)
        spool = line.settings.home / "spool" / line.settings.topic_telemetry
        first = line.simulation("none", duration_s=1800)
        second = line.simulation("none", duration_s=1500, start="2025-03-04T06:00:00+03:00")
        speed, bridge = line.speed().start(), line.bridge().start()
        line.wait_ready(speed, bridge)
        run1 = line.simulator(first, speedup=30, name="simulate-1").start()
        time.sleep(rng.uniform(5.0, 10.0))
        node.kill()
        offline_at = time.monotonic()
        wait_until(lambda: "spooling to" in run1.log.read_text(), timeout=60,
                   what="the simulator noticing Kafka is gone")  # fmt: skip
        time.sleep(rng.uniform(15.0, 25.0))
        run1.kill9()
        spooled = _spooled_ids(spool)
        assert spooled, "nothing was spooled while Kafka was away"
        run2 = line.simulator(second, speedup=30, name="simulate-2").start()
        wait_until(lambda: "wait in" in run2.log.read_text(), timeout=30,
                   what="the restarted simulator finding the spool")  # fmt: skip
        time.sleep(rng.uniform(5.0, 10.0))
        offline_s = time.monotonic() - offline_at
        node.start()
        back = time.monotonic()
        drained = RecoveryClock(lambda: "draining" in run2.log.read_text())
        drained.start()
        assert run2.wait(240) == 0, run2.tail()
        stats = summary(run2.out.read_text())
        line.wait_drained()
        record_recovery(name, "offline_s", round(offline_s, 1))
        record_recovery(name, "spooled_at_kill", len(spooled))
        record_recovery(name, "broker_back_to_draining_s", drained.result())
        record_recovery(name, "broker_back_to_run_end_s", round(time.monotonic() - back, 1))
        assert speed.stop() == 0, speed.tail()
        assert bridge.stop() == 0, bridge.tail()

        # Acknowledged: run 1's readings Kafka holds, and everything run 2 reports acknowledged
        # (its own readings and the spool it inherited).
        in_topic = {
            json.loads(m.value())["event_id"]
            for m in line.read_topic(line.settings.topic_telemetry)
        }
        complete = stats["left"] == 0 and stats["dropped"] == 0
        acked = in_topic | set(spooled) | second.good_ids if complete else set()
        row = Row(name)
        # In event time the fleet did fall silent: from run 1's kill to run 2's start a day
        # later. Each truck may show that as one sensor_offline alert, never two.
        trucks = {json.loads(m)["truck_id"] for m in first.messages}
        silent = {(truck, "sensor_offline") for truck in trucks}
        problems = line.check(row, acked, set(), silent)
        # Readings run 1 made before its last spooled one, but neither sent nor spooled: they
        # were in the producer's memory when it was killed. Offline, the queue is purged into
        # the spool every second, and the kill comes 15-25 s after going offline: none.
        order = [json.loads(m)["event_id"] for m in first.messages]
        last = max(order.index(i) for i in spooled)
        lost = [i for i in order[: last + 1] if i not in in_topic and i not in set(spooled)]
        row.notes = (
            f"spooled at kill {len(spooled)}, run 2 {stats}; readings lost with the killed "
            f"producer's memory: {len(lost)}"
        )
        if lost:
            problems.append(f"{len(lost)} readings lost with the killed producer's memory")
        if stats["drained"] < len(spooled):
            problems.append(f"run 2 drained {stats['drained']} of {len(spooled)} spooled")
        if not complete:
            problems.append(f"run 2: {stats}")
        if len(set(spooled)) != len(spooled):
            problems.append("the spool holds a reading twice")
    finish(request, row, problems)
