"""Scenarios 3 and 5: the pipeline's own processes crash or come and go under load.

3. kill -9 the bridge and the speed layer at random moments, again and again.
5. A rebalance storm: bridges and speed processors started and stopped every few seconds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.faults.support import (
    Proc,
    RecoveryClock,
    Row,
    archive_passed,
    finish,
    pipeline,
    record_recovery,
    speed_passed,
    summary,
)
from tests.helpers import seeded_random


def test_kill_9_bridge_and_speed_at_random_moments(tmp_path: Path, request: Any) -> None:
    """route_deviation, 12 trucks at 1 Hz (72,000 readings) at speed-up 150 (~50 s of load)."""
    rng = seeded_random("fault 3: kill -9 bridge and speed")
    name = "3 kill -9 bridge+speed"
    with pipeline(tmp_path) as line:
        sim = line.simulation("route_deviation")
        speed, bridge = line.speed().start(), line.bridge().start()
        simulator = line.simulator(sim, speedup=150).start()
        kills: list[str] = []
        last_restart = time.monotonic()
        while simulator.alive():
            time.sleep(rng.uniform(1.5, 6.0))
            victims: list[Proc] = rng.choice([[speed], [bridge], [speed, bridge]])
            for victim in victims:
                victim.kill9()
            kills.append("+".join(v.name for v in victims))
            print(f"kill -9 #{len(kills)}: {kills[-1]}")
            time.sleep(rng.uniform(0.0, 2.0))
            for victim in victims:
                victim.start()
            last_restart = time.monotonic()
        assert simulator.wait(60) == 0, simulator.tail()
        stats = summary(simulator.out.read_text())
        ends = line.end_offsets(line.settings.topic_telemetry)
        clock = RecoveryClock(lambda: speed_passed(line, ends)() and archive_passed(line, ends)())
        clock.started = last_restart
        clock.start()
        line.wait_drained()
        record_recovery(name, "kills", len(kills))
        record_recovery(name, "last_restart_to_caught_up_s", clock.result())
        assert speed.stop() == 0, speed.tail()
        assert bridge.stop() == 0, bridge.tail()

        row = Row(name, notes=f"{len(kills)} kills: {', '.join(kills)}")
        acked = sim.good_ids if stats["acked"] == len(sim.messages) else set()
        problems = line.check(row, acked, sim.expected_alerts, sim.allowed_alerts)
        if stats["acked"] != len(sim.messages) or stats["left"]:
            problems.append(f"simulator: {stats} for {len(sim.messages)} messages")
    finish(request, row, problems)


def test_rebalance_storm_of_bridges_and_speed_processors(tmp_path: Path, request: Any) -> None:
    """harsh_driving, 12 trucks at 1 Hz (64,800 readings) at speed-up 135 (~50 s of load);
    two bridges and two speed processors, one started or stopped (SIGTERM) every 1.5-4 s."""
    rng = seeded_random("fault 5: rebalance storm")
    name = "5 rebalance storm"
    with pipeline(tmp_path) as line:
        sim = line.simulation("harsh_driving")
        # Dynamic membership: a stopped bridge leaves the group at once (a storm of rebalances).
        members = [
            line.speed("speed-a").start(),
            line.speed("speed-b"),
            line.bridge("bridge-a", static=False).start(),
            line.bridge("bridge-b", static=False),
        ]
        simulator = line.simulator(sim, speedup=135).start()
        changes = 0
        exits: list[int] = []
        started: dict[str, float] = {}
        while simulator.alive():
            time.sleep(rng.uniform(1.5, 4.0))
            member = rng.choice(members)
            kind = member.name.split("-")[0]
            others = [m for m in members if m is not member and m.name.startswith(kind)]
            if member.alive() and time.monotonic() - started.get(member.name, 0.0) < 3.0:
                continue  # still importing: its SIGTERM handler is not installed yet
            if member.alive() and any(o.alive() for o in others):
                exits.append(member.stop())
            elif not member.alive():
                member.start()
                started[member.name] = time.monotonic()
            changes += 1
        for member in members:
            if not member.alive():
                member.start()
        last = time.monotonic()
        assert simulator.wait(60) == 0, simulator.tail()
        stats = summary(simulator.out.read_text())
        ends = line.end_offsets(line.settings.topic_telemetry)
        clock = RecoveryClock(lambda: speed_passed(line, ends)() and archive_passed(line, ends)())
        clock.started = last
        clock.start()
        line.wait_drained()
        record_recovery(name, "membership_changes", changes)
        record_recovery(name, "last_change_to_caught_up_s", clock.result())
        exits += [m.stop() for m in members]

        row = Row(name, notes=f"{changes} membership changes; exit codes {sorted(set(exits))}")
        complete = stats["acked"] == len(sim.messages) and not stats["left"]
        problems = line.check(
            row, sim.good_ids if complete else set(), sim.expected_alerts, sim.allowed_alerts
        )
        if not complete:
            problems.append(f"simulator: {stats} for {len(sim.messages)} messages")
        if any(exits):
            problems.append(f"a process stopped with SIGTERM did not exit 0: {exits}")
    finish(request, row, problems)
