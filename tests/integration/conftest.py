"""Fixtures shared by the integration tests (the session stack is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.integration.speed_support import delete_checkpoint_topic

from logistream.config import Settings, read_secrets
from logistream.stack.postgres_server import PostgresServer
from logistream.stack.process import free_port


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL of the test's own on a free port (and its superuser URL): a test may stop
    and start it without disturbing the shared stack."""
    own = Settings(home=tmp_path / "pg-home", postgres_port=free_port(), database_url=None)
    server = PostgresServer(own)
    server.up()
    try:
        yield server, server.url(read_secrets(own)["postgres_password"])
    finally:
        server.destroy()


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    """A Redis client on the test's own database; the speed layer's checkpoint topic of the
    test (if a speed process made one) is deleted afterwards."""
    assert settings.redis_url
    c = redis.Redis.from_url(settings.redis_url)
    yield c
    c.close()
    delete_checkpoint_topic(settings)
