"""Backup and restore through the real commands, into a fresh stack of its own.

The archive is filled by a real `logistream bridge` from Kafka; trip reports are issued (one
trip twice, after a late reading); the backup is taken WHILE readings keep arriving; more are
produced after it. Restored into a fresh temporary stack (its own PostgreSQL and Kafka): every
report has the same versions and digest, the roles work with the new installation's passwords,
and a bridge on the restored database reading the original topic resumes from the restored
offsets: the archive then holds every acknowledged reading exactly once, and that bridge read
only what the backup did not hold.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition
from tests.helpers import seeded_random, wait_until

from logistream.api.token_store import create_token
from logistream.batch.reports.current import current_trip_report
from logistream.batch.reports.trip import issue
from logistream.config import Settings, role_conninfo
from logistream.kafka import make_producer
from logistream.registry import load_registry
from logistream.serving.users import add_user
from logistream.stack.temporary import temporary_stack

# The commands as the lead wires them into `logistream` (register(app), errors as main() does).
CLI = (
    "import sys, typer\n"
    "from logistream.backup import cli\n"
    "from logistream.errors import LogiStreamError\n"
    "app = typer.Typer()\n"
    "cli.register(app)\n"
    "try:\n"
    "    app()\n"
    "except LogiStreamError as error:\n"
    "    print(f'logistream: {error}', file=sys.stderr)\n"
    "    sys.exit(2)\n"
)
TRUCKS = ("KBA 101A", "KBB 202B", "KBC 303C", "KBD 404D")
RESTORED_PASSWORDS = {
    "LOGISTREAM_BRIDGE_DB_PASSWORD": "restored-bridge-pw",
    "LOGISTREAM_READER_DB_PASSWORD": "restored-reader-pw",
}


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class Bridge:
    """A real `logistream bridge` subprocess, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("logistream")), "bridge"],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        finally:
            self._out.close()


class Producer:
    """Produces readings keyed by truck; remembers the event ids the broker acknowledged."""

    def __init__(self, settings: Settings) -> None:
        self._producer = make_producer(settings)
        self._topic = settings.topic_telemetry
        self.acked: list[str] = []
        self._lock = threading.Lock()

    def _report(self, error: Any, msg: Any) -> None:
        assert error is None, error
        with self._lock:
            self.acked.append(json.loads(msg.value())["event_id"])

    def send(self, truck: str, trip: str, ts: float, temp: float) -> None:
        body = {
            "truck_id": truck, "trip_id": trip, "timestamp": ts, "temp": temp, "fuel": 60.0,
            "event_id": str(uuid.uuid4()), "cargo": "vaccines", "lat": -1.3, "lon": 36.8,
        }  # fmt: skip
        while True:
            try:
                self._producer.produce(
                    self._topic, key=truck.encode(), value=json.dumps(body).encode(),
                    on_delivery=self._report,
                )  # fmt: skip
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def trip(self, rng: random.Random, truck: str, trip: str, start: float, n: int) -> None:
        for i in range(n):
            self.send(truck, trip, start + 30.0 * i, round(rng.uniform(3.0, 7.5), 2))

    def flush(self) -> None:
        assert self._producer.flush(60) == 0


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.encode(), params).fetchall()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4()}"})
    try:
        meta = consumer.list_topics(topic, timeout=30)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in meta.topics[topic].partitions
        }
    finally:
        consumer.close()


def stored_offsets(url: str, group: str, topic: str) -> dict[int, int]:
    rows = query(
        url,
        "SELECT partition, next_offset FROM kafka_offsets WHERE consumer_group = %s AND topic = %s",
        [group, topic],
    )
    return {int(p): int(n) for p, n in rows}


def caught_up(url: str, settings: Settings) -> bool:
    assert settings.kafka_bootstrap
    ends = {p: n for p, n in end_offsets(settings.kafka_bootstrap, settings.topic_telemetry).items()
            if n > 0}  # fmt: skip
    stored = stored_offsets(url, settings.bridge_group, settings.topic_telemetry)
    return all(stored.get(p) == n for p, n in ends.items())


def archived(url: str) -> int:
    try:
        return int(query(url, "SELECT count(*) FROM readings")[0][0])
    except psycopg.errors.UndefinedTable:  # before the bridge migrated
        return 0


REPORT_VERSIONS = (
    "SELECT truck_id, trip_id, version, issued_at, digest, readings, verdict, content "
    "FROM report_versions ORDER BY truck_id, trip_id, version"
)


def test_restore_into_a_fresh_stack_keeps_reports_and_resumes_the_bridge(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    rng = seeded_random("backup-restore")
    source_url = settings.database_url
    assert source_url
    # A registry folder of the user's own, which the backup must carry to the new machine.
    registry_src = tmp_path / "registry-src"
    registry_src.mkdir()
    for name in ("cargo.toml", "routes.toml", "fleet.toml", "devices.toml"):
        shipped = resources.files("logistream.registry").joinpath("data", name).read_bytes()
        (registry_src / name).write_bytes(shipped + b"\n# this depot's copy\n")
    env = {**settings_env, "LOGISTREAM_REGISTRY_DIR": str(registry_src)}
    registry = load_registry(registry_src)

    producer = Producer(settings)
    bridge = Bridge(env, tmp_path / "bridge-source.log")
    start = time.time() - 4 * 3600
    try:
        # Phase A: four trips, archived by the real bridge, then reported on.
        for truck in TRUCKS:
            producer.trip(rng, truck, f"{truck[:3]}-A", start, 120)
        producer.flush()
        wait_until(lambda: archived(source_url) == len(producer.acked), what="phase A archived")
        with psycopg.connect(source_url) as conn:
            for truck in TRUCKS:
                issue(conn, registry, f"{truck[:3]}-A", truck)
        # A late reading joins the first trip: its report gets version 2.
        producer.send(TRUCKS[0], "KBA-A", start + 30.0 * 120, 9.4)
        producer.flush()
        wait_until(lambda: archived(source_url) == len(producer.acked), what="late reading")
        with psycopg.connect(source_url) as conn:
            second = issue(conn, registry, "KBA-A", TRUCKS[0])
            add_user(conn, "amina", "dispatcher", "a long enough password")
            token = create_token(conn, "depot-gateway", ["read", "ingest"])
            conn.commit()
        assert second["version"] == 2
        before = {
            (truck, f"{truck[:3]}-A"): (row[0], row[1])
            for truck in TRUCKS
            for row in query(
                source_url,
                "SELECT version, digest FROM report_versions WHERE truck_id = %s AND trip_id = %s"
                " ORDER BY version DESC LIMIT 1",
                [truck, f"{truck[:3]}-A"],
            )
        }
        versions_before = query(source_url, REPORT_VERSIONS)
        assert len(versions_before) == 5

        # Phase B: readings keep arriving while the backup is taken.
        stop_b = threading.Event()

        def keep_producing() -> None:
            i = 0
            while not stop_b.is_set():
                truck = TRUCKS[i % len(TRUCKS)]
                producer.send(truck, f"{truck[:3]}-B", start + 7200 + 30.0 * (i // 4), 5.0)
                i += 1
                time.sleep(0.005)

        feeder = threading.Thread(target=keep_producing, daemon=True)
        feeder.start()
        time.sleep(1.0)
        backup_file = tmp_path / "site.tar"
        began = time.monotonic()
        done = run_cli(env, "backup", "-o", str(backup_file))
        print(done.stderr)
        print(f"backup took {time.monotonic() - began:.1f} s")
        time.sleep(1.0)
        stop_b.set()
        feeder.join(30)
        assert done.returncode == 0, done.stderr
        assert "dumped" in done.stderr  # progress was shown
        # Phase C: after the backup.
        for truck in TRUCKS:
            producer.trip(rng, truck, f"{truck[:3]}-C", start + 3 * 3600, 60)
        producer.flush()
        wait_until(lambda: caught_up(source_url, settings), what="source bridge caught up")
    finally:
        assert bridge.stop() == 0, bridge.log.read_text()

    with tarfile.open(backup_file) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
        assert sorted(tar.getnames()) == sorted(["manifest.json", *manifest["members"]])
    text = json.dumps(manifest)
    for secret in ("bridge-test-pw", "reader-test-pw", token):
        assert secret not in text
    assert manifest["registry"]["fleet.toml"].startswith(str(registry_src.resolve()))
    backed_up = manifest["row_counts"]["readings"]
    backed_offsets = {
        o["partition"]: o["next_offset"]
        for o in manifest["kafka_offsets"]
        if o["topic"] == settings.topic_telemetry and o["consumer_group"] == settings.bridge_group
    }
    acked = list(producer.acked)
    print(f"acknowledged {len(acked)}, in the backup {backed_up}")
    assert 0 < backed_up < len(acked)
    assert sum(backed_offsets.values()) == backed_up  # offsets and rows of one snapshot

    # A damaged copy is refused before anything is touched.
    damaged = tmp_path / "damaged.tar"
    shutil.copy(backup_file, damaged)
    with damaged.open("r+b") as f:
        f.seek(damaged.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))

    with temporary_stack(tmp_path / "fresh", partitions=3) as fresh:
        restore_home = tmp_path / "restore-home"
        restore_env = {
            k: v for k, v in settings_env.items() if k != "LOGISTREAM_REGISTRY_DIR"
        } | RESTORED_PASSWORDS | {
            "LOGISTREAM_DATABASE_URL": fresh.database_url,
            "LOGISTREAM_DATABASE_NAME": "logistream",
            "LOGISTREAM_HOME": str(restore_home),
        }  # fmt: skip
        refused = run_cli(restore_env, "restore", str(damaged))
        assert refused.returncode == 2
        assert "is damaged" in refused.stderr, refused.stderr

        began = time.monotonic()
        done = run_cli(restore_env, "restore", str(backup_file))
        print(done.stderr)
        print(f"restore took {time.monotonic() - began:.1f} s")
        assert done.returncode == 0, done.stderr
        assert "restored" in done.stderr
        restored_registry = restore_home / "registry"
        assert f"LOGISTREAM_REGISTRY_DIR={restored_registry}" in done.stderr
        for name in ("cargo.toml", "routes.toml", "fleet.toml", "devices.toml"):
            assert (restored_registry / name).read_bytes() == (registry_src / name).read_bytes()

        again = run_cli(restore_env, "restore", str(backup_file))
        assert again.returncode == 2
        assert "is not empty" in again.stderr
        assert "--force" in again.stderr

        # Report versions byte for byte; each trip's current report is the same version and
        # digest, read as the reader role with this installation's password.
        assert query(fresh.database_url, REPORT_VERSIONS) == versions_before
        reader_url = role_conninfo(
            fresh.database_url, "reader", RESTORED_PASSWORDS["LOGISTREAM_READER_DB_PASSWORD"]
        )

        @contextmanager
        def owner() -> Iterator[psycopg.Connection[Any]]:
            with psycopg.connect(fresh.database_url) as conn:
                yield conn

        restored_registry_loaded = load_registry(restored_registry)
        with psycopg.connect(reader_url, autocommit=True) as reader:
            for (truck, trip), (version, digest) in before.items():
                content = current_trip_report(reader, owner, restored_registry_loaded, truck, trip)
                assert (content["version"], content["digest"]) == (version, digest), trip
            found = reader.execute(
                "SELECT name FROM api_token_lookup(%s)",
                [hashlib.sha256(token.encode()).hexdigest()],
            ).fetchall()
            assert found == [("depot-gateway",)]
        assert query(fresh.database_url, REPORT_VERSIONS) == versions_before  # none re-issued
        assert query(fresh.database_url, "SELECT name, role FROM users") == [
            ("amina", "dispatcher")
        ]
        assert (
            stored_offsets(fresh.database_url, settings.bridge_group, settings.topic_telemetry)
            == backed_offsets
        )
        instances_before = {
            r[0] for r in query(fresh.database_url, "SELECT instance FROM bridge_heartbeat")
        }

        # The bridge on the restored database, reading the original topic, resumes.
        bridge_env = restore_env | {"LOGISTREAM_REGISTRY_DIR": str(restored_registry)}
        resumed = Bridge(bridge_env, tmp_path / "bridge-restored.log")
        try:
            wait_until(
                lambda: (
                    archived(fresh.database_url) >= len(acked)
                    and caught_up(fresh.database_url, settings)
                ),
                timeout=120,
                what="restored archive caught up",
            )
            time.sleep(1.0)  # a late duplicate would land now
        finally:
            assert resumed.stop() == 0, resumed.log.read_text()

        ids = [r[0] for r in query(fresh.database_url, "SELECT event_id FROM readings")]
        assert len(ids) == len(set(ids)), "a reading was archived twice"
        assert set(ids) == set(acked), (
            f"missing {len(set(acked) - set(ids))}, unexpected {len(set(ids) - set(acked))}"
        )
        assert query(fresh.database_url, "SELECT count(*) FROM rejected_readings") == [(0,)]
        assert settings.kafka_bootstrap
        ends = end_offsets(settings.kafka_bootstrap, settings.topic_telemetry)
        (consumed,) = [
            int(r[1])
            for r in query(
                fresh.database_url, "SELECT instance, total_messages FROM bridge_heartbeat"
            )
            if r[0] not in instances_before
        ]
        # It read only what the backup did not hold: resumed, not replayed from the start.
        assert consumed == sum(ends.values()) - sum(backed_offsets.values())
        assert consumed == len(acked) - backed_up
