"""A throw-away stack in its own home on free ports, for tests and benchmarks.

It never touches a stack the user runs, and when it stops, even after the body raised, it leaves
nothing: its servers' data (PostgreSQL's folder under ``/var/tmp`` too when run as root) and
everything in its home go. A user's own home keeps its data (``stack down --purge`` removes it).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logistream.config import Endpoints, Settings
from logistream.stack.kafka_server import KafkaCluster
from logistream.stack.manager import Stack
from logistream.stack.process import free_port


def isolated_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a stack of its own under ``home``, every server on a free port."""
    fields: dict[str, Any] = {
        "home": home,
        "kafka_bootstrap": None,
        "database_url": None,
        "redis_url": None,
        "mqtt_url": None,
        "kafka_port": free_port(),
        "kafka_controller_port": free_port(),
        "postgres_port": free_port(),
        "redis_port": free_port(),
        "mqtt_port": free_port(),
    }
    return Settings(**{**fields, **overrides})


@dataclass(frozen=True, slots=True)
class TemporaryStack:
    """A running temporary stack, for tests that provoke faults in it."""

    stack: Stack
    endpoints: Endpoints
    """As the admin: every broker, the superuser PostgreSQL URL, the admin Redis user."""

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def kafka(self) -> KafkaCluster:
        """``kafka.node(i).kill()`` / ``.start()``, ``kafka.leader(topic, partition)``, …"""
        return self.stack.kafka

    def service_settings(self, service: str) -> Settings:
        """Settings as ``service`` (``simulator``, ``speed``, …) of a secure stack."""
        return self.stack.service_settings(service)


@contextmanager
def temporary_stack_control(
    home: Path,
    *,
    partitions: int = 3,
    kafka_heap: str | None = None,
    brokers: int = 1,
    secure: bool = False,
) -> Iterator[TemporaryStack]:
    """Start Kafka (``brokers`` nodes), PostgreSQL, Redis and Mosquitto under ``home``; clean up
    on exit.

    On exit every server stops and all the stack's data is removed: the home is emptied (and
    removed, if this call created it). The heap defaults to 512m for one Kafka node and 384m
    each for a cluster.
    """
    created_home = not home.exists()
    settings = isolated_settings(
        home,
        partitions=partitions,
        kafka_heap=kafka_heap or ("512m" if brokers == 1 else "384m"),
    )
    stack = Stack(settings, brokers=brokers, secure=secure)
    try:
        stack.up()
        yield TemporaryStack(stack, stack.endpoints())
    finally:
        try:
            stack.purge()
        finally:
            _remove_home(home, created_home)


@contextmanager
def temporary_stack(
    home: Path,
    *,
    partitions: int = 3,
    kafka_heap: str | None = None,
    brokers: int = 1,
    secure: bool = False,
) -> Iterator[Endpoints]:
    """Start Kafka, PostgreSQL, Redis and Mosquitto under ``home``; stop and clean up on exit.

    ``database_url`` of the result is a superuser URL (tests create a database per test);
    ``kafka_bootstrap`` names every broker; ``mqtt_url`` logs in as the MQTT gateway (the
    devices' passwords are in ``home``'s secrets file: ``stack.mqtt_accounts.device_password``).
    """
    with temporary_stack_control(
        home, partitions=partitions, kafka_heap=kafka_heap, brokers=brokers, secure=secure
    ) as running:
        yield running.endpoints


def _remove_home(home: Path, created: bool) -> None:
    """Empty ``home``; remove it too when it was ours (a caller's folder may clean up itself)."""
    if not home.is_dir():
        return
    for entry in home.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    if created:
        with contextlib.suppress(OSError):  # a straggler's file: the servers' data is gone
            home.rmdir()


def test_environment(endpoints: Endpoints) -> dict[str, str]:
    """The ``LOGISTREAM_TEST_*`` variables that point tests and benchmarks at these servers."""
    env = {
        "LOGISTREAM_TEST_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOGISTREAM_TEST_DATABASE_URL": endpoints.database_url,
        "LOGISTREAM_TEST_REDIS_URL": endpoints.redis_url,
    }
    if endpoints.mqtt_url:
        env["LOGISTREAM_TEST_MQTT_URL"] = endpoints.mqtt_url
    return env
