"""Streamlit plumbing shared by the pages: cached clients, the signed-in user, store-down lines
and the pipeline health strip. Pages stay thin; the logic they show lives in pure modules."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import streamlit as st

from logistream.config import Settings, get_settings, resolve_endpoints
from logistream.live_views import LiveViews, RedisLiveViews
from logistream.registry import Registry, cached_registry
from logistream.serving import health
from logistream.serving.users import User

if TYPE_CHECKING:
    import psycopg
    from redis import Redis

USER_KEY: Final = "signed_in_user"
HEALTH_REFRESH_S: Final = 2.0


def settings() -> Settings:
    return get_settings()


def registry() -> Registry:
    return cached_registry(settings().registry_dir)


@st.cache_resource(show_spinner=False)
def _redis(url: str) -> Redis:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> Redis:
    return _redis(resolve_endpoints(settings()).redis_url)


def live() -> LiveViews:
    """The speed layer's live views, read through the session's Redis client."""
    return RedisLiveViews(redis_client())


def redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError)


@st.cache_resource(show_spinner=False)
def _reader_pool(key: str) -> dict[str, Any]:
    # One reader connection per dashboard process, replaced when it breaks. ``key`` keeps
    # connections of different settings (tests) apart.
    return {"conn": None}


@contextmanager
def reader() -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """The read-only PostgreSQL connection; a broken one is dropped so the next run reconnects."""
    import psycopg

    from logistream.reads.connect import connect_reader

    s = settings()
    slot = _reader_pool(f"{resolve_endpoints(s).database_url}|{s.bridge_group}")
    conn = slot["conn"]
    if conn is None or conn.closed:
        conn = slot["conn"] = connect_reader(s)
    try:
        yield conn
    except psycopg.OperationalError:
        slot["conn"] = None
        conn.close()
        raise


def pg_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.OperationalError, psycopg.errors.AdminShutdown)


def store_down(store: str, error: BaseException) -> None:
    """One line, in place of the page's content, until the store is back."""
    st.error(health.store_down(store, error).line, icon="⛔")


def current_user() -> User | None:
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else None


def sign_out() -> None:
    st.session_state.pop(USER_KEY, None)


def pipeline_health() -> list[health.ServiceHealth]:
    """Speed layer from Redis, bridge from PostgreSQL; a store that is down is red too."""
    services: list[health.ServiceHealth] = []
    try:
        services.append(health.speed_health(live().heartbeats()))
    except redis_errors() as error:
        services.append(health.store_down("Redis", error))
    try:
        with reader() as conn:
            from logistream.reads.heartbeats import bridge_beats

            beats = bridge_beats(conn, settings().bridge_group)
        services.append(health.bridge_health(beats, time.time()))
    except pg_errors() as error:
        services.append(health.store_down("PostgreSQL", error))
    except Exception as error:  # e.g. the archive's tables are not there yet
        services.append(
            health.ServiceHealth("bridge", False, f"Bridge: no heartbeat table yet ({error}).")
        )
    return services


def _health_strip() -> None:
    services = pipeline_health()
    ok = health.overall(services)
    text = html.escape("  ·  ".join(s.line for s in services))
    # A stable id lets the browser test and the benchmark find the strip and its colour.
    st.markdown(
        f'<div id="pipeline-health" data-ok="{str(ok).lower()}" style="padding:6px 10px;'
        f"border-radius:6px;font-size:0.9em;background:{'#1e5631' if ok else '#8b1a1a'};"
        f'color:white">Pipeline health: {"OK" if ok else "PROBLEM"} — {text}</div>',
        unsafe_allow_html=True,
    )


def health_strip() -> None:
    """The strip on every page, refreshing itself."""
    st.fragment(run_every=HEALTH_REFRESH_S)(_health_strip)()
