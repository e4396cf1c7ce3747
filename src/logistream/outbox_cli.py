"""The command-line side of an outbox (``logistream shipments``, ``logistream modes``): migrate,
open the owner's connection, first send what an earlier process left unpublished, and after each
committed change send it; a Kafka outage is a warning (the change stays stored and pending, the
next command sends it), never a failure of the change."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from logistream.errors import ConfigError, LogiStreamError
from logistream.kafka.compacted import OutboxPublisher

if TYPE_CHECKING:
    import psycopg

    from logistream.config import Endpoints, Settings
    from logistream.registry import Registry


P = TypeVar("P", bound=OutboxPublisher)
S = TypeVar("S")


def warn(message: str) -> None:
    print(f"logistream: warning: {message}", file=sys.stderr)


@dataclass
class OutboxSession(Generic[P, S]):
    """The owner's connection, the store of ``what`` on it, its publisher and the display zone."""

    conn: psycopg.Connection[Any]
    store: S
    publisher: P
    registry: Registry
    timezone: str

    def published(self, key: str) -> None:
        """Send the change just committed; a Kafka outage is a warning (it stays pending)."""
        try:
            self.publisher.publish(self.conn, key)
        except LogiStreamError as error:
            warn(str(error))


@contextlib.contextmanager
def outbox_session(
    what: str,
    make_publisher: Callable[[Settings, Endpoints, Registry], P],
    make_store: Callable[[psycopg.Connection[Any], Registry], S],
) -> Iterator[OutboxSession[P, S]]:
    """An owner's session for the changes of ``what`` ("shipment", "mode")."""
    import psycopg

    from logistream.config import get_settings, resolve_endpoints
    from logistream.registry import load_registry
    from logistream.schema.migrate import migrate

    settings = get_settings()
    endpoints = resolve_endpoints(settings)
    registry = load_registry(settings.registry_dir)
    migrate(settings, endpoints.database_url)
    try:
        conn = psycopg.connect(endpoints.database_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LOGISTREAM_DATABASE_URL: cannot connect to PostgreSQL ({str(error).strip()}); "
            "check it, or run `logistream stack up`"
        ) from error
    publisher = make_publisher(settings, endpoints, registry)
    with conn:
        try:
            publisher.publish_pending(conn)
        except LogiStreamError as error:
            warn(f"earlier {what} changes are not on Kafka yet: {error}")
        try:
            yield OutboxSession(
                conn, make_store(conn, registry), publisher, registry, settings.timezone
            )
        finally:
            with contextlib.suppress(LogiStreamError):
                publisher.close()
