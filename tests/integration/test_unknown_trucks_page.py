"""The Unknown trucks page (admins): a truck that reports but is not in the registry is listed,
adopted into a registry folder's fleet.toml or dismissed, each saying what happened; a
dispatcher is refused (real Redis and PostgreSQL, AppTest)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from streamlit.testing.v1 import AppTest
from tests.integration.test_dashboard_pages import dashboard

from logistream.config import Settings, get_settings
from logistream.events import Reading
from logistream.live_views import RedisLiveViewsWriter, TruckLatest
from logistream.registry import cached_registry, load_registry
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User

__all__ = ["dashboard"]  # a fixture, used by name
SCRIPT = "from logistream.serving.screens import unknown_trucks\nunknown_trucks.render()\n"


def _page(user: User) -> AppTest:
    page = AppTest.from_string(SCRIPT, default_timeout=30)
    page.session_state[USER_KEY] = user
    return page.run()


def _report(settings: Settings, *trucks: str) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    now = time.time()
    RedisLiveViewsWriter(client).write_batch(
        [TruckLatest(t, Reading(truck_id=t, temp=4.0, timestamp=now), "ok", ()) for t in trucks],
        {},
        [],
    )


def test_an_admin_adopts_and_dismisses_and_a_dispatcher_cannot(
    dashboard: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGISTREAM_REGISTRY_DIR", str(tmp_path))
    get_settings.cache_clear()
    cached_registry.cache_clear()
    _report(dashboard, "KZZ 999Z", "TEST-DEVICE")

    page = _page(User("ann", "admin"))
    assert not page.exception
    listed = page.dataframe[0].value
    assert {"KZZ 999Z", "TEST-DEVICE"} <= set(listed["Truck"])
    assert not set(listed["Truck"]) & set(load_registry().truck_index)

    page.selectbox(key="unknown-truck").set_value("KZZ 999Z").run()
    page.text_input[0].input("DRV-099")  # the adopt form's driver id
    page.button[0].click().run()
    assert not page.exception
    assert "KZZ 999Z added to" in page.success[0].value
    assert "KZZ 999Z" in load_registry(tmp_path).truck_index

    page = _page(User("ann", "admin"))
    page.selectbox(key="unknown-truck").set_value("TEST-DEVICE").run()
    page.text_input[1].input("a bench unit")
    page.button[1].click().run()
    assert "TEST-DEVICE dismissed" in page.success[0].value
    assert "TEST-DEVICE" not in set(page.dataframe[0].value["Truck"])

    refused = _page(User("dan", "dispatcher"))
    assert "Only an admin" in refused.error[0].value
    assert not refused.dataframe
