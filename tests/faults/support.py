"""The fault suite's harness: a throw-away stack, the pipeline as real processes, one oracle.

Every scenario runs ``logistream simulate``, ``speed`` and ``bridge`` as subprocesses against its
own temporary stack, provokes its faults, waits (bounded, generously) for the pipeline to drain,
then checks one oracle: every reading the producer reports as acknowledged is in the archive
exactly once, and every expected alert of the simulated scenario was raised exactly once (one
``alert_id`` per expected truck and rule). Results go to a table and recovery times to
``build/fault-recovery.json`` (see conftest.py).
"""

from __future__ import annotations

import functools
import json
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import psycopg
from tests.helpers import LOGISTREAM, wait_until

from logistream.config import Settings, child_env
from logistream.registry import load_registry
from logistream.registry.scenarios import load_scenario
from logistream.stack.temporary import TemporaryStack, temporary_stack_control

START = "2025-03-03T06:00:00+03:00"
SIM_SEED = 42
"""The scenario files' hand-written alerts are checked for this seed (tests/unit, rate 1)."""
PARTITIONS = 3
DRAIN_TIMEOUT_S = 240.0
ROLE_PASSWORDS = {"bridge_db_password": "bridge-fault-pw", "reader_db_password": "reader-fault-pw"}
SUMMARY = re.compile(
    r"sent (?P<sent>\d+), acknowledged (?P<acked>\d+), failed (?P<failed>\d+); "
    r"spooled (?P<spooled>\d+), drained (?P<drained>\d+), dropped (?P<dropped>\d+), "
    r"left in spool (?P<left>\d+)"
)
REGISTRY = load_registry()
T = TypeVar("T")


# ---- results: the table and the recovery figures ------------------------------------------


@dataclass
class Row:
    scenario: str
    acknowledged: int = 0
    archived: int = 0
    duplicates: int = 0
    missing: int = 0
    alerts_expected: int = 0
    alerts_raised: int = 0
    result: str = "ERROR"
    notes: str = ""


ROWS: dict[str, Row] = {}
"""By pytest node id; a test that dies before recording keeps result ERROR."""
RECOVERY: dict[str, dict[str, Any]] = {}


def record_recovery(scenario: str, name: str, value: Any) -> None:
    RECOVERY.setdefault(scenario, {})[name] = value


# ---- processes -----------------------------------------------------------------------------


class Proc:
    """One real ``logistream`` subprocess with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None
        self.out = log.with_suffix(".out")

    def start(self) -> Proc:
        assert self.popen is None or self.popen.poll() is not None, f"{self.name} runs"
        with self.log.open("ab") as err, self.out.open("ab") as out:
            self.popen = subprocess.Popen(
                [LOGISTREAM, *self.argv], env=self.env, stdout=out, stderr=err
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """A crash: SIGKILL, no clean-up of any kind."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM, which every long-running command must honour with exit 0."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(30)
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout:.0f} s") from None

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout)

    def tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.out, self.log):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text


def summary(text: str) -> dict[str, int]:
    """The simulator's delivery counts (its last summary line)."""
    found = list(SUMMARY.finditer(text))
    assert found, f"no delivery summary in the simulator's output: {text[-2000:]!r}"
    return {k: int(v) for k, v in found[-1].groupdict().items()}


# ---- the pipeline on its own stack ---------------------------------------------------------


@dataclass
class Simulation:
    """A ``logistream simulate --scenario`` run and what its dry run says it will send."""

    scenario: str
    args: list[str]
    messages: list[bytes]
    good_ids: set[str]

    @property
    def expected_alerts(self) -> set[tuple[str, str]]:
        return {(a.truck, a.rule) for a in load_scenario(self.scenario, REGISTRY).expect}

    @property
    def allowed_alerts(self) -> set[tuple[str, str]]:
        allowed = {(a.truck, a.rule) for a in load_scenario(self.scenario, REGISTRY).allow}
        return self.expected_alerts | allowed


def rules_with_lateness(path: Path, lateness_s: float) -> Path:
    """The shipped rules with another watermark lateness, written to ``path``.

    The lateness is in event time. A sped-up simulation multiplies a broker outage by its
    speed-up: at 200x, readings held up 15 s in the producer arrive 50 simulated minutes late,
    past the 10-minute silence limit, while other partitions' trucks go on. A scenario that
    stalls some partitions and not others gives the speed layer that much lateness, as a user
    would for a link known to lag that far.
    """
    from importlib import resources

    text = resources.files("logistream.registry").joinpath("data", "rules.toml").read_text("utf-8")
    replaced, count = re.subn(
        r"^watermark_lateness_s = .*$", f"watermark_lateness_s = {lateness_s:g}", text, flags=re.M
    )
    assert count == 1, "rules.toml has no watermark_lateness_s line"
    path.write_text(replaced, encoding="utf-8")
    return path


def good_event_ids(messages: list[bytes]) -> set[str]:
    """Event ids of the messages that are valid readings (poison pills have none to archive)."""
    from logistream.errors import InvalidReading
    from logistream.events import decode_reading

    now_ms = int(time.time() * 1000)
    ids: set[str] = set()
    for raw in messages:
        try:
            reading = decode_reading(raw, record_ts_ms=now_ms)
        except InvalidReading:
            continue
        assert reading.event_id is not None
        ids.add(reading.event_id)
    return ids


@dataclass
class Pipeline:
    """A temporary stack plus the ``logistream`` processes a scenario runs against it."""

    running: TemporaryStack
    workdir: Path
    settings: Settings
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    # -- processes --

    def proc(self, name: str, *argv: str, env: dict[str, str] | None = None) -> Proc:
        p = Proc(name, list(argv), env or self.env, self.workdir / f"{name}.log")
        self.procs.append(p)
        return p

    def speed(self, name: str = "speed", *extra: str, lateness_s: float | None = None) -> Proc:
        """A speed processor; ``lateness_s`` replaces the rules' watermark lateness (see
        :func:`rules_with_lateness`)."""
        if lateness_s is not None:
            rules = rules_with_lateness(self.workdir / f"{name}-rules.toml", lateness_s)
            extra = (*extra, "--rules", str(rules))
        return self.proc(name, "speed", "--checkpoint-s", "1", "--instance", name, *extra)

    def bridge(self, name: str = "bridge", static: bool = True) -> Proc:
        args = ["bridge", "--wait-for-db-s", "600"]
        if static:
            # A restarted bridge with the same id gets its partitions back at once.
            args += ["--instance-id", name]
        return self.proc(name, *args)

    def simulation(
        self,
        scenario: str,
        *,
        duration_s: float | None = None,
        trucks: int | None = None,
        start: str = START,
    ) -> Simulation:
        args = ["--scenario", scenario, "--seed", str(SIM_SEED), "--rate", "1", "--start", start]
        if duration_s is not None:
            args += ["--duration", f"{duration_s:g}"]
        if trucks is not None:
            args += ["--trucks", str(trucks)]
        done = subprocess.run(
            [LOGISTREAM, "simulate", *args, "--dry-run"],
            env=self.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        messages = done.stdout.splitlines()
        return Simulation(scenario, args, messages, good_event_ids(messages))

    def simulator(self, sim: Simulation, speedup: float, name: str = "simulate") -> Proc:
        return self.proc(name, "simulate", *sim.args, "--speedup", f"{speedup:g}")

    def wait_ready(self, *procs: Proc, timeout: float = 120.0) -> None:
        """Until each speed processor and bridge has its first partitions (faults come after)."""
        for p in procs:

            def ready(p: Proc = p) -> bool:
                return "assigned" in p.log.read_text(errors="replace") or not p.alive()

            wait_until(ready, timeout=timeout, what=f"{p.name} assigned its partitions")
            assert p.alive(), f"{p.name} exited at start: {p.tail()}"

    def stop_all(self) -> None:
        for p in self.procs:
            if p.alive():
                p.kill9()

    # -- Kafka probes --

    def admin_settings(self) -> Settings:
        return self.settings

    def end_offsets(self, topic: str) -> dict[int, int]:
        return _retrying(functools.partial(self._end_offsets, topic))

    def _end_offsets(self, topic: str) -> dict[int, int]:
        from confluent_kafka import TopicPartition

        from logistream.kafka import make_consumer

        consumer = make_consumer(self.settings, f"probe-{uuid.uuid4().hex[:8]}")
        try:
            meta = consumer.list_topics(topic, timeout=30)
            return {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in meta.topics[topic].partitions
            }
        finally:
            consumer.close()

    def speed_committed(self) -> dict[int, int]:
        return _retrying(self._speed_committed)

    def _speed_committed(self) -> dict[int, int]:
        from confluent_kafka import TopicPartition

        from logistream.kafka import make_consumer

        topic = self.settings.topic_telemetry
        consumer = make_consumer(self.settings, self.settings.speed_group)
        try:
            wanted = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            return {
                tp.partition: tp.offset
                for tp in consumer.committed(wanted, timeout=30)
                if tp.offset >= 0
            }
        finally:
            consumer.close()

    def read_topic(self, topic: str, quiet_s: float = 3.0) -> list[Any]:
        """Every record of ``topic`` (reads until its end offsets, then a quiet moment)."""
        from logistream.kafka import make_consumer

        ends = self.end_offsets(topic)
        consumer = make_consumer(self.settings, f"reader-{uuid.uuid4().hex[:8]}")
        consumer.subscribe([topic])
        out: list[Any] = []
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                batch = consumer.consume(10_000, timeout=0.5)
                for m in batch:
                    if m.error() is None:
                        out.append(m)
                        seen[m.partition()] = m.offset() + 1
                if all(seen.get(p, 0) >= n for p, n in ends.items() if n):
                    break
        finally:
            consumer.close()
        return out

    # -- PostgreSQL probes --

    def db(self) -> psycopg.Connection[tuple[Any, ...]]:
        assert self.settings.database_url
        return psycopg.connect(self.settings.database_url, autocommit=True, connect_timeout=5)

    def bridge_stored(self) -> dict[tuple[str, int], int]:
        try:
            with self.db() as conn:
                rows = conn.execute(
                    "SELECT topic, partition, next_offset FROM kafka_offsets "
                    "WHERE consumer_group = %s",
                    [self.settings.bridge_group],
                ).fetchall()
        except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
            return {}
        return {(str(t), int(p)): int(n) for t, p, n in rows}

    def archived_ids(self) -> Counter[str]:
        with self.db() as conn:
            return Counter(r[0] for r in conn.execute("SELECT event_id FROM readings"))

    def archived_count(self) -> int:
        try:
            with self.db() as conn:
                row = conn.execute("SELECT count(*) FROM readings").fetchone()
        except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
            return -1
        return int(row[0]) if row else 0

    def alert_opens(self) -> dict[tuple[str, str], set[str]]:
        """Archived alert ids by (truck, rule), from truck_alerts as the bridge stored it."""
        out: dict[tuple[str, str], set[str]] = {}
        with self.db() as conn:
            for alert_id, truck, rule in conn.execute(
                "SELECT DISTINCT alert_id, truck_id, rule FROM alert_changes"
            ):
                out.setdefault((truck, rule), set()).add(alert_id)
        return out

    # -- catching up --

    def speed_caught_up(self) -> bool:
        ends = self.end_offsets(self.settings.topic_telemetry)
        committed = self.speed_committed()
        return all(committed.get(p, 0) >= n for p, n in ends.items() if n)

    def bridge_caught_up(self) -> bool:
        stored = self.bridge_stored()
        for topic in (self.settings.topic_telemetry, self.settings.topic_alerts):
            for p, n in self.end_offsets(topic).items():
                if n and stored.get((topic, p), 0) < n:
                    return False
        return True

    def wait_drained(self, timeout: float = DRAIN_TIMEOUT_S) -> float:
        """Wait until the speed layer, then the bridge (alerts too), have read everything."""
        began = time.monotonic()
        wait_until(self.speed_caught_up, timeout=timeout, interval=1.0, what="speed caught up")
        wait_until(self.bridge_caught_up, timeout=timeout, interval=1.0, what="bridge caught up")
        return time.monotonic() - began

    # -- the oracle --

    def check(
        self,
        row: Row,
        acked_ids: set[str],
        expected_alerts: set[tuple[str, str]],
        allowed_alerts: set[tuple[str, str]],
    ) -> list[str]:
        """Fill ``row`` and return what is wrong (empty: the oracle holds)."""
        archived = self.archived_ids()
        total = sum(archived.values())
        row.acknowledged = len(acked_ids)
        row.archived = total
        row.duplicates = total - len(archived)
        missing = acked_ids - set(archived)
        row.missing = len(missing)
        problems: list[str] = []
        if row.duplicates:
            dup = [k for k, v in archived.items() if v > 1][:5]
            problems.append(f"{row.duplicates} duplicated readings, e.g. {dup}")
        if missing:
            problems.append(
                f"{len(missing)} acknowledged readings missing, e.g. {sorted(missing)[:5]}"
            )
        opens = self.alert_opens()
        row.alerts_expected = len(expected_alerts)
        row.alerts_raised = sum(len(opens.get(key, ())) for key in expected_alerts)
        for key in sorted(expected_alerts):
            ids = opens.get(key, set())
            if len(ids) != 1:
                problems.append(f"expected alert {key} raised {len(ids)} times: {sorted(ids)}")
        unexpected = {k: v for k, v in opens.items() if k not in allowed_alerts}
        if unexpected:
            problems.append(f"alerts the scenario does not expect: {unexpected}")
        for key in allowed_alerts - expected_alerts:
            if len(opens.get(key, ())) > 1:
                problems.append(f"allowed alert {key} raised {len(opens[key])} times")
        row.result = "PASS" if not problems else "FAIL"
        return problems


def _retrying(probe: Callable[[], T], timeout: float = 90.0) -> T:
    """A Kafka probe, retried while the cluster settles after a fault (leaders, coordinator)."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe()
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


@contextmanager
def pipeline(tmp_path: Path, *, brokers: int = 1) -> Iterator[Pipeline]:
    """A temporary stack of its own (free ports, temp home) and the settings to reach it."""
    home = tmp_path / "stack"
    began = time.monotonic()
    with temporary_stack_control(home, partitions=PARTITIONS, brokers=brokers) as running:
        print(f"stack of {brokers} broker(s) up in {time.monotonic() - began:.1f} s in {home}")
        endpoints = running.endpoints
        settings = running.settings.model_copy(
            update={
                "kafka_bootstrap": endpoints.kafka_bootstrap,
                "database_url": endpoints.database_url,
                "redis_url": endpoints.redis_url,
                **ROLE_PASSWORDS,
            }
        )
        env = child_env(settings)
        env["PYTHONUNBUFFERED"] = "1"
        workdir = tmp_path / "logs"
        workdir.mkdir()
        line = Pipeline(running, workdir, settings, env)
        try:
            yield line
        finally:
            RecoveryClock.halt_all()
            line.stop_all()
            for p in line.procs:
                print(f"--- {p.name} ({p.log}) ---\n{p.tail(12)}")


class RecoveryClock(threading.Thread):
    """Measures, in the background, how long after ``started`` a condition first holds.

    Every clock stops with its scenario's stack (:func:`pipeline`), so none goes on probing
    servers that are gone while the next scenario runs.
    """

    running: ClassVar[list[RecoveryClock]] = []

    def __init__(self, condition: Callable[[], bool], timeout: float = 300.0) -> None:
        super().__init__(daemon=True)
        self.condition = condition
        self.timeout = timeout
        self.started = time.monotonic()
        self.seconds: float | None = None
        self._halt = threading.Event()
        RecoveryClock.running.append(self)

    def run(self) -> None:
        while time.monotonic() - self.started < self.timeout and not self._halt.is_set():
            try:
                if self.condition():
                    self.seconds = round(time.monotonic() - self.started, 2)
                    return
            except Exception:  # noqa: S110 - a server may be down while we measure
                pass
            self._halt.wait(0.5)

    @classmethod
    def halt_all(cls) -> None:
        for clock in cls.running:
            clock._halt.set()
        for clock in cls.running:
            if clock.ident is not None:
                clock.join(30)
        cls.running.clear()

    def result(self, wait: float = 5.0) -> float | None:
        if self.ident is None:  # never started
            return None
        self.join(wait)
        return self.seconds


def archive_passed(line: Pipeline, targets: dict[int, int]) -> Callable[[], bool]:
    """True once the bridge has archived the telemetry topic up to ``targets``."""
    topic = line.settings.topic_telemetry

    def passed() -> bool:
        stored = line.bridge_stored()
        return all(stored.get((topic, p), 0) >= n for p, n in targets.items() if n)

    return passed


def speed_passed(line: Pipeline, targets: dict[int, int]) -> Callable[[], bool]:
    def passed() -> bool:
        committed = line.speed_committed()
        return all(committed.get(p, 0) >= n for p, n in targets.items() if n)

    return passed


def finish(request: Any, row: Row, problems: list[str]) -> None:
    """Record the row, print it, and fail the test with every problem at once."""
    ROWS[request.node.nodeid] = row
    print(json.dumps(row.__dict__))
    assert not problems, "; ".join(problems)
