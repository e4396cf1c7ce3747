"""A throw-away stack in its own home on free ports, for tests and benchmarks.

It never touches a stack the user runs, and removes its PostgreSQL data when done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.stack.manager import Stack
from logistream.stack.process import free_port


@contextmanager
def temporary_stack(
    home: Path, *, partitions: int = 3, kafka_heap: str = "512m"
) -> Iterator[Endpoints]:
    """Start Kafka, PostgreSQL and Redis under ``home``; stop and clean up on exit.

    ``database_url`` of the result is a superuser URL (tests create a database per test).
    """
    settings = Settings(
        home=home,
        kafka_bootstrap=None,
        database_url=None,
        redis_url=None,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        postgres_port=free_port(),
        redis_port=free_port(),
        partitions=partitions,
        kafka_heap=kafka_heap,
    )
    stack = Stack(settings)
    try:
        stack.up()
        yield resolve_endpoints(settings)
    finally:
        stack.down()
        stack.postgres.destroy()


def test_environment(endpoints: Endpoints) -> dict[str, str]:
    """The ``LOGISTREAM_TEST_*`` variables that point tests and benchmarks at these servers."""
    return {
        "LOGISTREAM_TEST_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOGISTREAM_TEST_DATABASE_URL": endpoints.database_url,
        "LOGISTREAM_TEST_REDIS_URL": endpoints.redis_url,
    }
