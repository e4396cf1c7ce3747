"""The integration API over the real stack: ingest over HTTP into the archive exactly once, the
fleet, trips (verdict, MKT, paged readings, the report), pipeline health, and acknowledging an
alert through the API (Redis, truck_alerts, alert_commands and the archive all change).

Real `logistream speed` and `logistream bridge` processes fill Redis and PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from tests.helpers import seeded_random, wait_until
from tests.integration.api_support import (
    api_client,
    auth,
    bridge_process,
    fetch,
    prepare,
    reading,
)
from tests.integration.speed_support import TopicReader, speed_process

from logistream import live_views
from logistream.config import Settings
from logistream.events import decode_command

REPORT_CLI = (
    "import typer; from logistream.batch import report_cli; "
    "app = typer.Typer(); report_cli.register(app); app()"
)


def _archived(settings: Settings) -> int:
    return int(fetch(settings, "SELECT count(*) FROM readings")[0][0])


def test_ingest_fleet_trips_and_report_over_http(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    rng = seeded_random("api ingest")
    tokens = prepare(settings, device=["ingest"], tms=["read"])
    start = time.time() - 3600
    trucks = ("KBX 101A", "KBX 202B")
    batch = [
        reading(
            truck, start + 60 * i, round(rng.uniform(3.0, 7.0), 2), trip_id=f"trip-{truck[-4:]}",
            cargo="vaccines", fuel=80 - i, lat=-1.28 - i / 1000, lon=36.82, speed_kmh=50.0,
            firmware="v2.1",  # unknown field: kept in the archive
        )
        for truck in trucks
        for i in range(10)
    ]  # fmt: skip
    with (
        api_client(settings) as api,
        speed_process(settings_env, log=tmp_path / "speed.log"),
        bridge_process(settings_env, tmp_path / "bridge.log"),
    ):
        device, tms = auth(tokens["device"]), auth(tokens["tms"])
        first = api.post("/v1/readings", json=batch, headers=device)
        assert first.status_code == 202, first.text
        assert first.json()["accepted"] == 20
        event_ids = first.json()["event_ids"]
        again = api.post("/v1/readings", json=batch, headers=device)  # a retry after a timeout
        assert again.status_code == 202
        assert again.json()["event_ids"] == event_ids

        # Invalid readings: 4xx naming the field and the pipeline's reason code.
        bad = api.post("/v1/readings", json={"temp": 5, "timestamp": start}, headers=device)
        assert bad.status_code == 422
        assert bad.json()["rejected"] == [
            {"index": None, "reason": "missing_field", "field": "truck_id",
             "detail": bad.json()["rejected"][0]["detail"]},
        ]  # fmt: skip
        future = reading("KBX 101A", time.time() + 3600, 5.0)
        bad = api.post("/v1/readings", json=[batch[0], future], headers=device)
        assert bad.status_code == 422
        assert [(r["index"], r["reason"], r["field"]) for r in bad.json()["rejected"]] == [
            (1, "future_event", "timestamp")
        ]
        bad = api.post("/v1/readings", content=b'{"truck_id": "x", "temp": NaN', headers=device)
        assert bad.status_code == 400
        assert bad.json()["rejected"][0]["reason"] == "invalid_json"

        # Exactly once in the archive, however often it was posted (and nothing of the refused).
        wait_until(lambda: _archived(settings) >= 20, what="20 readings archived")
        time.sleep(1.0)
        assert _archived(settings) == 20
        extras = fetch(settings, "SELECT DISTINCT extras->>'firmware' FROM readings")
        assert extras == [("v2.1",)]

        # The fleet now (Redis, written by the speed layer).
        fleet = wait_until(
            lambda: (r := api.get("/v1/trucks", headers=tms).json())["count"] == 2 and r,
            what="2 trucks in the fleet",
        )
        assert [t["truck_id"] for t in fleet["trucks"]] == list(trucks)
        assert fleet["trucks"][0]["reading"]["temp"] == batch[9]["temp"]
        one = api.get("/v1/trucks/KBX 202B", headers=tms)
        assert one.status_code == 200
        assert one.json()["reading"]["timestamp"] == batch[19]["timestamp"]
        missing = api.get("/v1/trucks/NOPE", headers=tms)
        assert missing.status_code == 404
        assert missing.json()["error"] == "truck_not_found"

        pipeline = wait_until(
            lambda: (p := api.get("/v1/pipeline", headers=tms).json())["ok"] and p,
            what="speed and bridge heartbeats",
        )
        assert pipeline["speed_instances"]
        assert pipeline["bridge_instances"][0]["total_messages"] >= 40

    # Trips: the batch views, recomputed by the batch layer's own code.
    assert settings.database_url
    from logistream.batch.views.recompute import recompute
    from logistream.registry import load_registry

    with psycopg.connect(settings.database_url) as conn:
        recompute(conn, load_registry())
    with api_client(settings) as api:
        tms = auth(tokens["tms"])
        trips = api.get("/v1/trips", headers=tms).json()
        assert {(t["truck_id"], t["trip_id"]) for t in trips["trips"]} == {
            ("KBX 101A", "trip-101A"),
            ("KBX 202B", "trip-202B"),
        }
        for trip in trips["trips"]:
            assert trip["verdict"] == "pass", trip
            assert trip["readings"] == 10
            assert 3.0 <= trip["mkt_c"] <= 7.0
        page1 = api.get("/v1/trips", params={"limit": 1}, headers=tms).json()
        page2 = api.get(
            "/v1/trips", params={"limit": 1, "cursor": page1["next_cursor"]}, headers=tms
        ).json()
        assert page2["next_cursor"] is None
        assert [t["trip_id"] for t in page1["trips"] + page2["trips"]] == [
            t["trip_id"] for t in trips["trips"]
        ]
        only = api.get("/v1/trips", params={"truck": "KBX 202B", "verdict": "pass"}, headers=tms)
        assert [t["trip_id"] for t in only.json()["trips"]] == ["trip-202B"]
        assert api.get("/v1/trips", params={"verdict": "fail"}, headers=tms).json()["trips"] == []

        detail = api.get("/v1/trips/KBX 101A/trip-101A", headers=tms).json()
        assert detail["compliance"]["verdict"] == "pass"
        assert detail["trip"]["mkt_c"] == detail["compliance"]["mkt_c"]

        # A trip's readings, paged by keyset: every reading once, in event-time order.
        seen: list[dict[str, object]] = []
        cursor = None
        for _ in range(10):
            params: dict[str, object] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = api.get("/v1/trips/KBX 101A/trip-101A/readings", params=params, headers=tms)
            assert page.status_code == 200, page.text
            seen += page.json()["readings"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        # The archive keeps microseconds; the event ids are exact.
        assert [r["event_id"] for r in seen] == event_ids[:10]
        assert [r["timestamp"] for r in seen] == pytest.approx([b["timestamp"] for b in batch[:10]])
        assert seen[0]["extras"] == {"firmware": "v2.1"}
        bad_cursor = api.get(
            "/v1/trips/KBX 101A/trip-101A/readings", params={"cursor": "garbage"}, headers=tms
        )
        assert bad_cursor.status_code == 422
        assert bad_cursor.json()["error"] == "invalid_cursor"

        # The report: the same bytes as `logistream report trip`.
        report = api.get("/v1/trips/KBX 101A/trip-101A/report?format=json", headers=tms)
        assert report.status_code == 200, report.text
        assert report.json()["version"] == 1
        assert report.json()["verdict"] == "pass"
        cli = subprocess.run(
            [sys.executable, "-c", REPORT_CLI, "report", "trip", "trip-101A", "--truck",
             "KBX 101A", "--format", "json"],
            env=settings_env, capture_output=True, timeout=300, check=True,
        )  # fmt: skip
        assert cli.stdout == report.content
        csv = api.get("/v1/trips/KBX 101A/trip-101A/report?format=csv", headers=tms)
        assert csv.headers["content-type"].startswith("text/csv")
        assert "verdict,pass" in csv.text
        pdf = api.get("/v1/trips/KBX 101A/trip-101A/report", headers=tms)
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        versions = fetch(settings, "SELECT count(*) FROM report_versions")
        assert versions == [(1,)]  # unchanged readings: no second version


def test_acknowledging_through_the_api_changes_the_alert_everywhere(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    tokens = prepare(settings, device=["ingest"], viewer=["read"], **{"erp-qa": ["read", "ack"]})
    now = time.time()
    alerts_topic = TopicReader(settings, settings.topic_alerts)
    commands_topic = TopicReader(settings, settings.topic_commands)
    with (
        api_client(settings, ack_wait_s=10) as api,
        speed_process(settings_env, log=tmp_path / "speed.log"),
        bridge_process(settings_env, tmp_path / "bridge.log"),
    ):
        viewer, qa = auth(tokens["viewer"]), auth(tokens["erp-qa"])
        hot = [reading("KDA 500X", now - 60, 5.0), reading("KDA 500X", now - 30, 8.4)]
        assert api.post("/v1/readings", json=hot, headers=auth(tokens["device"])).status_code == 202

        alerts = wait_until(
            lambda: api.get("/v1/alerts/open", params={"truck": "KDA 500X"}, headers=viewer).json()[
                "alerts"
            ],
            what="the open alert over the API",
        )
        assert [(a["rule"], a["state"], a["value"]) for a in alerts] == [("temp_high", "open", 8.4)]
        alert_id = alerts[0]["alert_id"]
        none = api.get("/v1/alerts/open", params={"rule": "door_open"}, headers=viewer)
        assert none.json() == {"alerts": [], "count": 0}

        refused = api.post(f"/v1/alerts/{alert_id}/ack", json={"note": "x"}, headers=viewer)
        assert refused.status_code == 403
        assert refused.json()["missing_scope"] == "ack"

        done = api.post(
            f"/v1/alerts/{alert_id}/ack", json={"note": "driver re-set the unit"}, headers=qa
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["applied"] is True
        assert body["by"] == "erp-qa"
        assert body["alert"]["state"] == "acknowledged"

        # Redis
        live = live_views.read_alert(client, alert_id)
        assert live is not None
        assert (live.state, live.acknowledged_by, live.ack_note) == (
            "acknowledged", "erp-qa", "driver re-set the unit",
        )  # fmt: skip
        # alert_commands: the same command as the CLI and the dashboard send.
        commands = [decode_command(v) for _, v in commands_topic.poll(1.0)]
        assert [(c.action, c.alert_id, c.by, c.note) for c in commands] == [
            ("ack", alert_id, "erp-qa", "driver re-set the unit")
        ]
        # truck_alerts
        changes = wait_until(
            lambda: [
                a for a in alerts_topic.alerts() if a.alert_id == alert_id
            ] if len(alerts_topic.poll(0.2)) >= 2 else [],
            what="opened and acknowledged on truck_alerts",
        )  # fmt: skip
        assert [(a.state, a.acknowledged_by) for a in changes] == [
            ("open", None),
            ("acknowledged", "erp-qa"),
        ]
        # The archive, via the bridge; and the history endpoint over it.
        wait_until(
            lambda: fetch(
                settings,
                "SELECT acknowledged_by, ack_note FROM alert_changes "
                "WHERE alert_id = %s AND state = 'acknowledged'",
                [alert_id],
            ),
            what="the acknowledgement in alert_changes",
        )
        history = api.get(
            "/v1/alerts", params={"truck": "KDA 500X", "state": "acknowledged"}, headers=viewer
        ).json()
        assert [
            (c["alert_id"], c["acknowledged_by"], c["ack_note"]) for c in history["changes"]
        ] == [(alert_id, "erp-qa", "driver re-set the unit")]
        everything = api.get("/v1/alerts", params={"limit": 1}, headers=viewer).json()
        assert everything["changes"][0]["state"] == "acknowledged"  # newest first
        rest = api.get(
            "/v1/alerts", params={"limit": 1, "cursor": everything["next_cursor"]}, headers=viewer
        ).json()
        assert rest["changes"][0]["state"] == "open"
        assert rest["next_cursor"] is None
        window = api.get(
            "/v1/alerts", params={"since": now + 3600, "until": now + 7200}, headers=viewer
        )
        assert window.json()["changes"] == []

        twice = api.post(f"/v1/alerts/{alert_id}/ack", json={}, headers=qa)
        assert twice.status_code == 409
        assert "erp-qa" in twice.json()["detail"]
        unknown = api.post("/v1/alerts/no-such-alert/ack", json={}, headers=qa)
        assert unknown.status_code == 404
    alerts_topic.close()
    commands_topic.close()
