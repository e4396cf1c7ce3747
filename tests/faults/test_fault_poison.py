"""Scenario 6: poison pills of every kind at a high rate, mixed with good readings.

Every pill lands in the DLQ with its reason code (and in ``rejected_readings``); every good
reading is archived once; the bridge accounts for every message (accepted + rejected =
consumed) and the speed layer skips the pills without stopping (processed + skipped + late =
consumed). The simulator's own ``malformed`` scenario runs alongside.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from tests.faults.support import START, Row, finish, pipeline, record_recovery, summary
from tests.helpers import seeded_random, wait_until

from logistream import live_views
from logistream.events import Reading, encode
from logistream.ingest.faults import malformed
from logistream.kafka import make_producer

MESSAGES = 40_000
POISON_EVERY = 4
"""One message in four is a pill."""
# Written by hand: the reason code the contract gives each kind of pill.
PILLS: dict[str, str] = {
    "truncated_json": "invalid_json",
    "wrong_types": "wrong_type",
    "nan": "impossible_value",
    "missing_truck_id": "missing_field",
    "future_event": "future_event",
    "oversized": "too_large",
    "impossible_value": "impossible_value",
    "not_an_object": "not_an_object",
    "not_utf8": "invalid_json",
    "empty": "invalid_json",
    "negative_seq": "impossible_value",
    "empty_truck_id": "impossible_value",
}


def _pill(variant: str, good: Reading, key: bytes) -> bytes:
    if variant == "not_an_object":
        return b'[{"truck_id": "KBZ 001A", "temp": 4.0}]'
    if variant == "not_utf8":
        return b'{"truck_id": "\xff\xfe", "temp": 4.0, "timestamp": 1740000000}'
    if variant == "empty":
        return b""
    if variant == "negative_seq":
        return encode(Reading(truck_id=good.truck_id, temp=4.0, timestamp=good.timestamp)).replace(
            b"}", b',"seq":-5}'
        )
    if variant == "empty_truck_id":
        return encode(Reading(truck_id="x", temp=4.0, timestamp=good.timestamp)).replace(
            b'"x"', b'""'
        )
    return malformed(variant, good, key).value


class _Mixer(threading.Thread):
    """Produces MESSAGES messages, every POISON_EVERY-th a pill (kinds in turn)."""

    def __init__(self, settings: Any, seed: int) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.seed = seed
        self.good: set[str] = set()
        self.pills: Counter[str] = Counter()
        self.acked = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        import random

        rng = random.Random(self.seed)
        producer = make_producer(self.settings)
        # The same 15 minutes of event time as the simulator's run: no truck looks silent.
        start = datetime.fromisoformat(START).timestamp()
        kinds = list(PILLS)

        def report(error: Any, _msg: Any) -> None:
            if error is None:
                self.acked += 1

        try:
            for i in range(MESSAGES):
                truck = f"KBZ {rng.randrange(40):03d}P"
                good = Reading(
                    truck_id=truck, temp=5.0, fuel=60.0, timestamp=start + i * 900.0 / MESSAGES,
                    event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                    seq=i, cargo="vaccines",
                )  # fmt: skip
                key = truck.encode()
                if i % POISON_EVERY == POISON_EVERY - 1:
                    variant = kinds[(i // POISON_EVERY) % len(kinds)]
                    value = _pill(variant, good, key)
                    self.pills[variant] += 1
                else:
                    value = encode(good)
                    assert good.event_id is not None
                    self.good.add(good.event_id)
                while True:
                    try:
                        producer.produce(self.settings.topic_telemetry, value, key,
                                         on_delivery=report)  # fmt: skip
                        break
                    except BufferError:
                        producer.poll(0.05)
                if i % 2000 == 0:
                    producer.poll(0)
                    time.sleep(0.1)  # ~15,000 messages/s: a burst, not one batch
            assert producer.flush(120) == 0
        except BaseException as error:
            self.error = error


def test_poison_pills_of_every_kind_at_high_rate(tmp_path: Path, request: Any) -> None:
    rng = seeded_random("fault 6: poison pills")
    name = "6 poison pills"
    with pipeline(tmp_path) as line:
        sim = line.simulation("malformed")
        # 15 minutes of event time arrive in a few seconds: a partition read 2 s behind the
        # others is 10 simulated minutes late. Event-time lateness to match (see
        # rules_with_lateness), or trucks of a partition read last look silent.
        speed, bridge = line.speed(lateness_s=7200).start(), line.bridge().start()
        line.wait_ready(speed, bridge)
        simulator = line.simulator(sim, speedup=0).start()
        mixer = _Mixer(line.settings, rng.randrange(2**32))
        began = time.monotonic()
        mixer.start()
        mixer.join(300)
        assert mixer.error is None, mixer.error
        assert simulator.wait(240) == 0, simulator.tail()
        stats = summary(simulator.out.read_text())
        line.wait_drained()
        record_recovery(name, "load_to_caught_up_s", round(time.monotonic() - began, 1))
        consumed = sum(line.end_offsets(line.settings.topic_telemetry).values())

        assert line.settings.redis_url
        client = redis.Redis.from_url(line.settings.redis_url)

        def counted() -> Any:
            beat = live_views.read_heartbeat(client)
            if beat is None:
                return None
            r = beat.record
            return r if r.processed + r.skipped + r.late >= consumed else None

        try:  # the heartbeat is written once a second: give it a moment to count the last batch
            record = wait_until(counted, timeout=30, what="the speed heartbeat counting all")
        except AssertionError:
            beat = live_views.read_heartbeat(client)
            record = beat.record if beat else None
        client.close()
        assert speed.stop() == 0, speed.tail()
        assert bridge.stop() == 0, bridge.tail()

        dlq = line.read_topic(line.settings.topic_dlq)
        by_source: dict[tuple[bytes, bytes, bytes], str] = {}
        for m in dlq:  # a DLQ record may repeat after a crash: count each source once
            headers = dict(m.headers() or [])
            source = (headers.get("source_topic", b""), headers.get("source_partition", b""),
                      headers.get("source_offset", b""))  # fmt: skip
            by_source[source] = headers["reason"].decode()
        reasons = Counter(by_source.values())
        expected: Counter[str] = Counter()
        for variant, count in mixer.pills.items():
            expected[PILLS[variant]] += count
        for rejection in sim_rejections(sim):
            expected[rejection[0]] += rejection[1]
        with line.db() as conn:
            rejected = Counter(
                dict(conn.execute("SELECT reason, count(*) FROM rejected_readings GROUP BY 1"))
            )
        row = Row(name, notes=f"DLQ by reason {dict(reasons)}")
        complete = stats["acked"] == len(sim.messages) and mixer.acked == MESSAGES
        acked = (sim.good_ids | mixer.good) if complete else set()
        problems = line.check(row, acked, sim.expected_alerts, sim.allowed_alerts)
        if not complete:
            problems.append(f"simulator {stats}, mixer acked {mixer.acked} of {MESSAGES}")
        if reasons != expected:
            problems.append(f"DLQ reasons {dict(reasons)} != expected {dict(expected)}")
        if rejected != expected:
            problems.append(f"rejected_readings {dict(rejected)} != expected {dict(expected)}")
        if row.archived + sum(rejected.values()) != consumed:
            problems.append(
                f"accepted {row.archived} + rejected {sum(rejected.values())} != consumed "
                f"{consumed}"
            )
        r = record
        if r is None:
            problems.append("no speed heartbeat")
        elif r.processed + r.skipped + r.late != consumed or r.skipped != sum(expected.values()):
            problems.append(
                f"speed layer: processed {r.processed} + skipped {r.skipped} + late {r.late} "
                f"for {consumed} consumed, {sum(expected.values())} pills"
            )
    finish(request, row, problems)


def sim_rejections(sim: Any) -> list[tuple[str, int]]:
    from tests.faults.support import REGISTRY

    from logistream.registry.scenarios import load_scenario

    return [(r.reason, r.count) for r in load_scenario(sim.scenario, REGISTRY).dlq]
