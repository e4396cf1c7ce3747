"""The connections the API holds: Redis (sync for reads, async for the live stream), a pool of
read-only PostgreSQL connections, and Kafka producers. Opened lazily and without waiting, so
the API starts while a store is down and ``/ready`` can say which one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from logistream.api.limits import Snapshot
from logistream.api.options import ApiOptions
from logistream.api.publish import Publisher
from logistream.api.token_store import TokenCache, TokenRow, lookup_in
from logistream.config import Settings, resolve_endpoints, role_password
from logistream.errors import StoreUnavailable
from logistream.reads.connect import configure_reader, reader_conninfo

if TYPE_CHECKING:
    import psycopg
    import redis
    import redis.asyncio
    from psycopg_pool import ConnectionPool

    from logistream.kafka import Producer


class Backends:
    def __init__(self, settings: Settings, options: ApiOptions) -> None:
        import redis
        import redis.asyncio

        self.settings = settings
        self.options = options
        self.endpoints = resolve_endpoints(settings)
        self.redis: redis.Redis = redis.Redis.from_url(
            self.endpoints.redis_url, socket_timeout=5, socket_connect_timeout=3
        )
        # The live stream blocks in XREAD for up to a second: no socket timeout below that.
        self.redis_async: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            self.endpoints.redis_url, socket_connect_timeout=3, socket_timeout=30
        )
        self._pool: ConnectionPool[Any] | None = None
        self._publisher: Publisher | None = None
        self._command_producer: Producer | None = None
        self._lock = threading.Lock()
        self.tokens = TokenCache(self._lookup_token, options.token_cache_s)
        self.fleet_snapshot = Snapshot(options.fleet_cache_s)

    # --- PostgreSQL -------------------------------------------------------------------------
    def _reader_pool(self) -> ConnectionPool[Any]:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                conninfo = reader_conninfo(
                    self.endpoints.database_url, role_password(self.settings, "reader")
                )
                self._pool = ConnectionPool(
                    conninfo,
                    min_size=1,
                    max_size=self.options.reader_pool_size,
                    kwargs={"connect_timeout": 3},
                    configure=configure_reader,
                    check=ConnectionPool.check_connection,
                    open=False,
                    name="api-reader",
                )
                self._pool.open(wait=False)
            return self._pool

    @contextmanager
    def reader(self) -> Iterator[psycopg.Connection[Any]]:
        """A read-only connection; :class:`StoreUnavailable` when PostgreSQL does not answer."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._reader_pool().connection(timeout=5) as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as error:
            raise StoreUnavailable(
                "postgres",
                f"PostgreSQL is not answering ({error.__class__.__name__}); try again shortly "
                "(see /ready)",
            ) from error

    @contextmanager
    def owner(self) -> Iterator[psycopg.Connection[Any]]:
        """An owner connection, for the API's writes: issuing reports, shipment and mode changes
        and their audit rows, and the audit row of an acknowledgement."""
        import psycopg

        try:
            conn = psycopg.connect(self.endpoints.database_url, connect_timeout=5)
        except psycopg.OperationalError as error:
            raise StoreUnavailable(
                "postgres", f"PostgreSQL is not answering ({error.__class__.__name__}); try again"
            ) from error
        with conn:
            yield conn

    def _lookup_token(self, digest: str) -> TokenRow | None:
        with self.reader() as conn:
            return lookup_in(conn, digest)

    # --- Kafka ------------------------------------------------------------------------------
    def publisher(self) -> Publisher:
        with self._lock:
            if self._publisher is None:
                from logistream.kafka import durable_producer

                timeout_ms = int(self.options.kafka_timeout_s * 1000)
                producer = durable_producer(
                    self.settings, self.endpoints, config={"message.timeout.ms": timeout_ms}
                )
                self._publisher = Publisher(producer, self.options.kafka_timeout_s)
            return self._publisher

    def command_producer(self) -> Producer:
        with self._lock:
            if self._command_producer is None:
                from logistream.kafka import durable_producer

                timeout_ms = int(self.options.kafka_timeout_s * 1000)
                self._command_producer = durable_producer(
                    self.settings, self.endpoints, config={"message.timeout.ms": timeout_ms}
                )
            return self._command_producer

    def kafka_metadata(self, timeout_s: float = 3.0) -> int:
        """Number of brokers Kafka reports (raises on no answer): for ``/ready``."""
        from logistream.kafka import broker_count

        return broker_count(
            self.settings, self.endpoints, timeout_s=timeout_s, config={"socket.timeout.ms": 3000}
        )

    async def aclose(self) -> None:
        await self.redis_async.aclose()
        self.close()

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
        if self._command_producer is not None:
            self._command_producer.flush(10)
        if self._pool is not None:
            self._pool.close()
        self.redis.close()
