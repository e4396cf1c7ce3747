"""How a dashboard page makes a change that is published through an outbox (shipments, operating
modes): the owner's connection (the read-only role cannot write), then the committed change sent
on Kafka, and when Kafka does not take it, a warning that it stays stored and is sent by the next
start of the CLI or the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import streamlit as st

from logistream.errors import LogiStreamError
from logistream.kafka.compacted import OutboxPublisher
from logistream.serving import ui

if TYPE_CHECKING:
    import psycopg


@contextmanager
def owner() -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection as the database owner, closed after the change."""
    import psycopg

    from logistream.config import resolve_endpoints

    url = resolve_endpoints(ui.settings()).database_url
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        yield conn


def publish_committed(
    publisher: OutboxPublisher, conn: psycopg.Connection[Any], key: str, done: str
) -> bool:
    """Send the change just committed; False (and a warning naming ``done``) when Kafka did not
    take it, so the page says nothing more about it."""
    try:
        publisher.publish(conn, key)
    except LogiStreamError as error:
        st.warning(
            f"{done}, but not on Kafka yet ({error}); the next start of the CLI or the "
            "API sends it."
        )
        return False
    finally:
        publisher.close()
    return True
