"""Each dashboard page in Streamlit's AppTest, over real Redis and PostgreSQL.

Redis is filled through the speed layer's own writer (``ViewWriter``), the archive as its owner,
accounts with ``logistream.serving.users``; the pages read them back as the dashboard does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer
from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data

from logistream.config import Settings, get_settings, to_env
from logistream.schema.migrate import migrate
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User

APP = Path(__file__).resolve().parents[2] / "src" / "logistream" / "serving" / "app.py"


@pytest.fixture
def dashboard(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    for name, value in to_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    data.place_live_views(settings)
    data.place_archive(settings)
    data.add_users(settings)
    yield settings
    get_settings.cache_clear()


def _page(module: str, user: User | None) -> AppTest:
    script = f"from logistream.serving.screens import {module}\n{module}.render()\n"
    page = AppTest.from_string(script, default_timeout=30)
    if user is not None:
        page.session_state[USER_KEY] = user
    return page.run()


def _texts(page: AppTest) -> str:
    parts = [m.value for m in page.markdown] + [c.value for c in page.caption]
    parts += [e.value for e in page.error] + [w.value for w in page.warning]
    return "\n".join(str(p) for p in parts)


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(dashboard: Settings) -> None:
    page = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not page.exception
    assert page.title[0].value == "LogiStream control room"
    page.text_input[0].input("vic")
    page.text_input[1].input("not-the-password")
    page.button[0].click().run()
    assert [e.value for e in page.error] == ["Wrong name or password."]
    assert USER_KEY not in page.session_state

    page.text_input[1].input(data.PASSWORDS["vic"])
    page.button[0].click().run()
    assert page.session_state[USER_KEY] == User("vic", "viewer")
    assert page.title[0].value == "Live fleet"


def test_live_page_shows_the_fleet_headline_and_a_green_health_strip(dashboard: Settings) -> None:
    page = AppTest.from_file(str(APP), default_timeout=30)
    page.session_state[USER_KEY] = User("vic", "viewer")
    page.run()
    assert not page.exception
    assert page.title[0].value == "Live fleet"
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Trucks on the road"] == "2"
    assert metrics["In range"] == "50%"
    assert metrics["Open major"] == "1"
    assert metrics["Open warning"] == "1"
    trucks = page.dataframe[0].value
    assert list(trucks["truck"]) == [data.HOT_TRUCK, data.COOL_TRUCK]
    assert list(trucks["status"]) == ["major", "warning"]
    strip = _texts(page)
    assert 'data-ok="true"' in strip
    assert "Speed layer OK" in strip
    assert "Bridge OK" in strip
    assert "Positions as of" in strip
    assert page.get("deck_gl_json_chart"), "the map is drawn"


def test_alerts_page_orders_filters_and_a_dispatcher_acknowledges(dashboard: Settings) -> None:
    page = _page("alerts", User("dan", "dispatcher"))
    assert not page.exception
    rows = page.dataframe[0].value
    assert list(rows["truck"]) == [data.HOT_TRUCK, data.COOL_TRUCK]  # major before warning
    assert list(rows["severity"]) == ["major", "warning"]
    assert rows["place"][0] == "at Voi"
    assert rows["cargo"][0] == "Vaccines"
    assert len(page.dataframe[1].value) == 2  # recent changes

    page.multiselect(key="alert_severities").set_value(["warning"]).run()
    assert list(page.dataframe[0].value["rule"]) == ["speeding"]
    page.multiselect(key="alert_severities").set_value([]).run()

    page.selectbox[0].set_value("a-hot-1")
    page.text_input[0].input("Driver told to stop at Voi depot")
    page.button[0].click().run(timeout=60)
    assert page.warning, "no speed layer runs here: the page says it is not applied yet"

    consumer = Consumer(
        {
            "bootstrap.servers": dashboard.kafka_bootstrap,
            "group.id": f"dash-test-{time.time()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([dashboard.topic_commands])
    commands = []
    deadline = time.monotonic() + 20
    while not commands and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            commands.append((message.key(), json.loads(message.value())))
    consumer.close()
    assert len(commands) == 1
    key, command = commands[0]
    assert key == data.HOT_TRUCK.encode()
    assert (command["action"], command["alert_id"], command["by"], command["note"]) == (
        "ack",
        "a-hot-1",
        "dan",
        "Driver told to stop at Voi depot",
    )


def test_a_viewer_cannot_acknowledge(dashboard: Settings) -> None:
    page = _page("alerts", User("vic", "viewer"))
    assert not page.exception
    assert len(page.dataframe[0].value) == 2
    assert not page.button, "no acknowledge button for a viewer"
    assert "a dispatcher or an admin acknowledges them" in _texts(page)


def test_alerts_page_shows_notifications_that_could_not_be_delivered(
    dashboard: Settings,
) -> None:
    import psycopg

    assert dashboard.database_url
    with psycopg.connect(dashboard.database_url) as conn:
        conn.execute(
            "INSERT INTO notifications (idempotency_key, kind, alert_id, alert_state, truck_id,"
            " rule, recipient, recipient_name, channel, address, subject, body, payload, status,"
            " attempts, last_error, failed_at) VALUES ('k1', 'alert', 'a-hot-1', 'open', %s,"
            " 'temp_high', 'qa', 'Amina (QA)', 'email', 'qa@example.org', 's', 'b', '{}',"
            " 'failed', 5, 'SMTP server refused the connection', now())",
            [data.HOT_TRUCK],
        )
    page = _page("alerts", User("vic", "viewer"))
    assert not page.exception
    assert any(
        "1 notification(s) about open alerts could not be delivered" in e.value for e in page.error
    )
    failed = page.dataframe[1].value
    assert list(failed["recipient"]) == ["Amina (QA)"]
    assert list(failed["reason"]) == ["SMTP server refused the connection"]


def test_truck_page_shows_live_figures_history_and_alerts(dashboard: Settings) -> None:
    page = _page("truck", User("vic", "viewer"))
    assert not page.exception
    page.selectbox[0].set_value(data.HOT_TRUCK).run()
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Cargo °C"] == "11.2"
    assert metrics["Status"] == "alarm"
    assert metrics["Trip"] == data.TRIP
    assert metrics["Fuel %"] == "62.0"
    # Before a batch run the page shows no excursion of its own: the audit alone counts them.
    assert not any("excursion" in c.value for c in page.caption)
    alerts = page.dataframe[0].value
    assert list(alerts["rule"]) == ["temp_high"]
    assert len(page.get("deck_gl_json_chart")) == 1
    assert len(page.get("vega_lite_chart")) == 2  # temperature with its range; fuel and speed


def test_truck_page_shows_the_audits_excursions(dashboard: Settings) -> None:
    data.place_batch_views(dashboard)
    page = _page("truck", User("vic", "viewer"))
    page.selectbox[0].set_value(data.HOT_TRUCK).run()
    assert not page.exception
    assert any(
        "1 excursion(s) in this window, as the audit counts them" in c.value for c in page.caption
    )
    excursions = page.dataframe[0].value
    assert list(excursions["kind"]) == ["high (ongoing)"]
    assert list(excursions["peak °C"]) == [12.5]
    assert list(excursions["minutes out"]) == [9.0]
    assert list(excursions["trip"]) == [data.TRIP]
    assert "probe" not in excursions.columns  # the truck's single probe: no column for it


def _get_signed_report(page: AppTest, version: int) -> None:
    """The page hands out the same versioned, digest-signed report as the CLI and the API."""
    assert not page.get("download_button"), "a report version is issued on request only"
    page.button(key=f"get-report:{data.HOT_TRUCK}|{data.TRIP}").click().run()
    assert not page.exception
    assert len(page.get("download_button")) == 2
    shown = " ".join(m.value for m in page.markdown)
    assert f"Report version **{version}**, SHA-256 of the archived readings `" in shown


def test_audits_page_before_the_batch_layer_ran_shows_archived_trips(dashboard: Settings) -> None:
    page = _page("audits", User("vic", "viewer"))
    assert not page.exception
    assert any("The batch views are empty" in w.value for w in page.warning)
    trips = page.dataframe[0].value
    assert list(trips["Trip"]) == [data.TRIP]
    assert list(trips["Readings"]) == [30]
    _get_signed_report(page, version=1)


def test_audits_page_shows_verdicts_excursions_reports_and_reconciliation(
    dashboard: Settings,
) -> None:
    data.place_batch_views(dashboard)
    page = _page("audits", User("vic", "viewer"))
    assert not page.exception
    assert not page.warning
    metrics = {m.label: m.value for m in page.metric}
    assert (metrics["Trips fail"], metrics["Trips pass"]) == ("1", "0")
    trips = page.dataframe[0].value
    assert list(trips["Verdict"]) == ["fail"]
    assert list(trips["MKT (°C)"]) == [7.4]
    assert "**Verdict: FAIL** — passed the 12 °C hard limit" in [m.value for m in page.markdown]
    excursions = page.dataframe[1].value
    assert list(excursions["Kind"]) == ["high"]
    assert list(excursions["Peak (°C)"]) == [12.5]
    reconciled = page.dataframe[2].value
    assert list(reconciled["Status"]) == ["on time"]
    _get_signed_report(page, version=1)


def test_analytics_page_before_the_batch_layer_ran(dashboard: Settings) -> None:
    page = _page("analytics", User("vic", "viewer"))
    assert not page.exception
    frames = [f.value for f in page.dataframe]
    assert list(frames[0]["Truck"]) == [data.HOT_TRUCK]  # the original fuel audit
    assert list(frames[-1]["Alert id"]) == ["a-theft-1"]


def test_analytics_page_shows_fuel_efficiency_scorecards_and_thefts(dashboard: Settings) -> None:
    data.place_batch_views(dashboard)
    page = _page("analytics", User("vic", "viewer"))
    assert not page.exception
    assert not page.warning
    by_truck, by_route, by_driver, scorecards, thefts, alerts = (f.value for f in page.dataframe)
    assert list(by_truck["Fuel (L per 100 km)"]) == [35.0]
    assert list(by_route["Route"]) == ["Mombasa port → Nairobi (A109)"]
    assert list(by_driver["Driver"]) == ["DRV-009"]
    assert list(scorecards["Score (0–100)"]) == [71.5]
    assert list(thefts["Unexplained by driving (L)"]) == [46.5]
    assert list(alerts["Alert id"]) == ["a-theft-1"]


def test_admin_sees_users_page_and_adds_a_user(dashboard: Settings) -> None:
    page = _page("admin_users", User("ann", "admin"))
    assert not page.exception
    assert list(page.dataframe[0].value["name"]) == ["ann", "dan", "vic"]
    page.text_input[0].input("eve")
    page.selectbox[0].set_value("dispatcher")
    page.text_input[1].input("eve-password-1")
    page.button[0].click().run()
    assert [s.value for s in page.success] == ["eve added as dispatcher."]
    denied = _page("admin_users", User("dan", "dispatcher"))
    assert [e.value for e in denied.error] == ["Only an admin manages users."]


def _add_rear_probe_excursion(settings: Settings) -> None:
    """A second excursion of the hot trip, its rear probe's (as a truck with two probes has)."""
    assert settings.database_url
    now = time.time()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO excursions (truck_id, trip_id, probe_id, kind, start_time, end_time, "
            "ongoing, duration_s, out_s, peak_c, peak_at, alarm_at) VALUES (%s, %s, 'rear', "
            "'high', to_timestamp(%s), to_timestamp(%s), false, 1920, 1920, 9.4, "
            "to_timestamp(%s), NULL)",
            [data.HOT_TRUCK, data.TRIP, now - 1700, now - 1700 + 1920, now - 1000],
        )


def test_the_truck_and_audits_pages_name_the_probe_of_an_excursion(dashboard: Settings) -> None:
    data.place_batch_views(dashboard)
    _add_rear_probe_excursion(dashboard)
    truck = _page("truck", User("vic", "viewer"))
    truck.selectbox[0].set_value(data.HOT_TRUCK).run()
    assert not truck.exception
    excursions = truck.dataframe[0].value
    assert list(excursions["probe"]) == ["rear", "—"]
    assert list(excursions["peak °C"]) == [9.4, 12.5]
    audits = _page("audits", User("vic", "viewer"))
    assert not audits.exception
    lines = [m.value for m in audits.markdown if "peak" in m.value]
    assert len(lines) == 1, lines
    assert "- rear probe: high from " in lines[0]
    assert "\n- high from " in lines[0]  # the single probe's, as before
