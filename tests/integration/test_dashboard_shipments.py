"""The Shipments pages in Streamlit's AppTest, over real PostgreSQL, Redis and Kafka.

A dispatcher creates a shipment by uploading the example file (stored, logged and on the
test's own compacted ``shipments`` topic) and a bad file is refused with the parser's one line,
nothing stored; the list shows the speed layer's live stage and ETA (written to Redis with the
speed layer's own writer); on the shipment page a receiver's user signs for a lot, an admin
quarantines one, a dispatcher sets the stage by hand and gets the signed report, and a viewer
sees none of the forms; the live map's tooltip names the truck's shipment and its next stop.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from confluent_kafka import Consumer
from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data
from tests.integration.test_dashboard_pages import dashboard  # noqa: F401 (a fixture)

import logistream.shipments
from logistream.config import Settings, get_settings, to_env
from logistream.events import Reading, StageEvent
from logistream.kafka import make_admin
from logistream.live_views.records import ShipmentLive, StopEtaView
from logistream.registry import load_registry
from logistream.serving import users
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.store import ShipmentStore, new_record
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, load_registry())
ID = SHIPMENT.shipment_id
RECEIVER = User("wanjiku", "viewer", "moh-western")


@pytest.fixture
def shipping(
    dashboard: Settings,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The dashboard's settings with a shipments topic of its own, and a receiver's user."""
    own = dashboard.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    for name, value in to_env(own).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with users.connect(own.database_url or "") as conn:
        users.add_organisation(conn, "moh-western", "receiver")
        users.add_user(conn, "wanjiku", "viewer", "wanjiku-password-1", "moh-western")
    yield own
    get_settings.cache_clear()
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


def _page(user: User, shipment: str | None = None) -> AppTest:
    script = "from logistream.serving.screens import shipments\nshipments.render()\n"
    page = AppTest.from_string(script, default_timeout=60)
    page.session_state[USER_KEY] = user
    if shipment is not None:
        page.query_params["shipment"] = shipment
    return page.run()


def _texts(page: AppTest) -> str:
    parts = [m.value for m in page.markdown] + [c.value for c in page.caption]
    parts += [e.value for e in page.error] + [w.value for w in page.warning]
    parts += [s.value for s in page.success]
    return "\n".join(str(p) for p in parts)


def _table(page: AppTest, column: str) -> list[dict[str, Any]]:
    """The rows of the first table with that column."""
    frame = next(d.value for d in page.dataframe if column in d.value.columns)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    return rows


def _owner(settings: Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(settings.database_url or "", autocommit=True)


def _on_topic(settings: Settings) -> list[dict[str, Any]]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"dash-shipments-{time.time()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([settings.topic_shipments])
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            found.append(json.loads(message.value()))
        elif found:
            break
    consumer.close()
    return found


def _create(settings: Settings) -> None:
    with _owner(settings) as conn:
        ShipmentStore(conn, load_registry()).create(new_record(SHIPMENT), "test")


def _place_live(settings: Settings) -> float:
    """The speed layer's view: loaded at the origin, then in transit; Kisumu's ETA late."""
    now = time.time()
    client = redis.Redis.from_url(settings.redis_url or "")
    event = StageEvent(
        event_id="e1",
        shipment_id=ID,
        truck_id=SHIPMENT.truck_id,
        stage="at_origin",
        stop=0,
        stop_id="nairobi-central",
        stop_name="Nairobi central vaccine store",
        at=now - 600,
        previous_stage="planned",
        previous_stop=0,
        cause="geofence",
    )
    live = ShipmentLive(
        shipment_id=ID,
        truck_id=SHIPMENT.truck_id,
        stage="at_origin",
        stop=0,
        since=now - 600,
        updated_at=now,
        etas=(StopEtaView(1, now + 4 * 3600, 350.0, True),),
        arrival_forecast="at this rate the vaccines reach 8.0 °C 40 min before Kisumu",
    )
    ViewWriter(client).write_batch([], {}, [], shipments=[live], stage_events=[event])
    return now


def test_a_dispatcher_creates_a_shipment_from_a_file_and_a_bad_file_is_refused(
    shipping: Settings,
) -> None:
    page = _page(User("dan", "dispatcher"))
    assert not page.exception
    assert "No shipment yet" in next(i.value for i in page.info)
    bad = EXAMPLE.read_text().replace('cargo = "vaccines"', 'cargo = "plutonium"')
    page.file_uploader(key="shipment_file").upload("bad.toml", bad.encode())
    page.button(key="shipment_create").click().run()
    (refusal,) = [e.value for e in page.error]
    assert refusal.startswith("cargo: ")
    assert "\n" not in refusal
    with _owner(shipping) as conn:
        assert conn.execute("SELECT count(*) FROM shipments").fetchone() == (0,)

    page = _page(User("dan", "dispatcher"))
    page.file_uploader(key="shipment_file").upload(EXAMPLE.name, EXAMPLE.read_bytes())
    page.button(key="shipment_create").click().run()
    assert not page.exception
    assert f"Shipment {ID} created" in _texts(page)
    (row,) = _table(page, "reference")
    assert (row["reference"], row["truck"], row["stage"], row["status"]) == (
        "KEMSA/EPI/2026/118",
        "KCB 781C",
        "—",
        "on time",
    )
    with _owner(shipping) as conn:
        stored = conn.execute(
            "SELECT s.status, s.version, c.changed_by FROM shipments s "
            "JOIN shipment_changes c USING (shipment_id) WHERE shipment_id = %s",
            [ID],
        ).fetchone()
    assert stored == ("active", 1, "dan")
    (record,) = _on_topic(shipping)
    assert (record["shipment"]["shipment_id"], record["version"]) == (ID, 1)

    # The same truck is taken now: refused, one line, nothing more stored.
    page.file_uploader(key="shipment_file").upload(EXAMPLE.name, EXAMPLE.read_bytes())
    page.button(key="shipment_create").click().run()
    assert [e.value for e in page.error] == [
        f"shipment_id: {ID!r} already exists; give the new shipment its own id"
    ]

    page = _page(User("dan", "dispatcher"))
    page.text_input(key="cancel_reason").input("Truck broke down in the yard")
    page.button(key="cancel_go").click().run()
    assert f"Shipment {ID} cancelled" in _texts(page)
    with _owner(shipping) as conn:
        assert conn.execute("SELECT status FROM shipments").fetchone() == ("cancelled",)
    assert [r["status"] for r in _on_topic(shipping)] == ["active", "cancelled"]


def test_a_viewer_sees_the_list_and_the_shipment_page_but_no_form(shipping: Settings) -> None:
    _create(shipping)
    _place_live(shipping)
    page = _page(User("vic", "viewer"))
    assert not page.exception
    assert not page.get("file_uploader"), "only a dispatcher creates shipments"
    (row,) = _table(page, "reference")
    assert row["stage"] == "at origin (loading) · Nairobi central vaccine store"
    assert row["next stop"] == "Kisumu regional vaccine depot"
    assert row["status"] == "late"
    stages = _table(page, "cause")
    assert [(s["stage"], s["cause"]) for s in stages] == [
        ("at origin (loading) · Nairobi central vaccine store", "geofence")
    ]
    assert "at this rate the vaccines reach 8.0 °C" in _texts(page)
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Status"] == "late"
    assert metrics["Next stop"] == "Kisumu regional vaccine depot"
    assert page.get("deck_gl_json_chart"), "the map is drawn"
    deck = page.get("deck_gl_json_chart")[0].proto.json
    assert '"geofences"' in deck
    assert "Signed by a user of the receiving organisation" in _texts(page)
    for key in ("pod_sign", "release_go", "override_go", "cancel_go"):
        assert not [b for b in page.button if b.key == key], key

    page.multiselect(key="filter_stage").set_value(["in_transit"]).run()
    assert "No shipment matches these filters." in [i.value for i in page.info]


def test_a_receiver_signs_an_admin_quarantines_and_a_dispatcher_overrides(
    shipping: Settings,
) -> None:
    _create(shipping)
    page = _page(RECEIVER, ID)
    assert not page.exception
    page.selectbox(key="pod_lot").set_value("DIL-0907")
    page.radio(key="pod_decision").set_value("rejected")
    page.text_input(key="pod_name").input("Wanjiku Otieno")
    page.text_input(key="pod_note").input("cold-chain indicator tripped")
    page.button(key="pod_sign").click().run()
    assert not page.exception
    assert "Lot DIL-0907 rejected" in _texts(page)
    lots = {r["lot"]: r for r in _table(page, "proof of delivery")}
    assert lots["DIL-0907"]["proof of delivery"] == "rejected by Wanjiku Otieno"
    with _owner(shipping) as conn:
        pod = conn.execute(
            "SELECT stop_id, decision, recorded_by, signer_name, note FROM shipment_pod"
        ).fetchone()
    assert pod == (
        "kisumu-depot",
        "rejected",
        "wanjiku",
        "Wanjiku Otieno",
        "cold-chain indicator tripped",
    )
    # An empty printed name is refused with the one line, nothing stored.
    page.text_input(key="pod_name").input(" ")
    page.button(key="pod_sign").click().run()
    assert next(e.value for e in page.error).startswith("name: give the printed name")

    page = _page(User("ann", "admin"), ID)
    page.selectbox(key="release_lot").set_value("MR-2612")
    page.radio(key="release_decision").set_value("quarantined")
    page.text_input(key="release_reason").input("Awaiting the logger's data")
    page.button(key="release_go").click().run()
    assert not page.exception
    lots = {r["lot"]: r for r in _table(page, "proof of delivery")}
    assert lots["MR-2612"]["release"] == "quarantined by ann"

    page = _page(User("dan", "dispatcher"), ID)
    assert not [b for b in page.button if b.key == "release_go"], "admins release"
    page.selectbox(key="override_stage").set_value("at_origin")
    page.text_input(key="override_reason").input("GPS lost in the yard")
    page.button(key="override_go").click().run()
    assert not page.exception
    assert "Stage set to at_origin" in _texts(page)
    changes = _table(page, "change")
    assert [(c["change"], c["by"]) for c in changes] == [
        ("created", "test"),
        ("pod recorded", "wanjiku"),
        ("stage overridden", "dan"),
    ]
    versions = [r["version"] for r in _on_topic(shipping)]
    assert versions[-1] == 3

    # The signed report, as `logistream report shipment` issues it.
    page.button(key="report_get").click().run()
    assert not page.exception
    assert "Report version **1**" in _texts(page)
    labels = [b.proto.label for b in page.get("download_button")]
    assert labels == [f"Shipment report ({fmt})" for fmt in ("PDF", "CSV", "JSON")]
    with _owner(shipping) as conn:
        issued = conn.execute(
            "SELECT version, content->>'shipment_id' FROM shipment_report_versions"
        ).fetchall()
    assert issued == [(1, ID)]


def test_the_live_map_tooltip_names_the_shipment_and_its_next_stop(shipping: Settings) -> None:
    _create(shipping)
    now = _place_live(shipping)
    # The shipment's truck reports at the origin.
    reading = Reading(
        truck_id=SHIPMENT.truck_id, temp=5.0, timestamp=now, cargo="vaccines",
        lat=-1.2864, lon=36.8172, probe_id="front",
    )  # fmt: skip
    client = redis.Redis.from_url(shipping.redis_url or "")
    ViewWriter(client).write_batch([TruckState(truck_id=SHIPMENT.truck_id, last=reading)], {}, [])
    page = AppTest.from_string(
        "from logistream.serving.screens import live\nlive.render()\n", default_timeout=60
    )
    page.session_state[USER_KEY] = User("vic", "viewer")
    page.run()
    assert not page.exception
    deck = json.loads(page.get("deck_gl_json_chart")[0].proto.json)
    trucks = next(layer for layer in deck["layers"] if layer["id"] == "trucks")
    labels = {p["truck"]: p["shipment"] for p in trucks["data"]}
    assert labels[SHIPMENT.truck_id] == "KEMSA/EPI/2026/118 · next Kisumu regional vaccine depot"
    assert labels[data.COOL_TRUCK] == "no shipment"
