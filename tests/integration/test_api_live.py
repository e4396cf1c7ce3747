"""The live stream over a real `logistream api` server: an alert raised by the speed layer on
the `reefer_failure` scenario (`logistream simulate --scenario reefer_failure`) arrives as a
Server-Sent Event within a second of the speed layer writing it, with truck updates, and a
reconnect with Last-Event-ID (the alert change's sequence number) to a restarted API server
resumes after the last alert seen."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import redis
from tests.helpers import wait_until
from tests.integration.api_support import (
    LOGISTREAM,
    api_server,
    auth,
    prepare,
    sse_events,
)
from tests.integration.speed_support import speed_process

from logistream.config import Settings
from logistream.live_views import RedisLiveViews
from logistream.stack.process import free_port

SCENARIO_TRUCK = "KCK 293K"
TEMPERATURE_RULES = {"temp_rising", "temp_high", "temp_critical", "tor_budget"}
SEED = 42


def test_live_stream_delivers_the_reefer_failure_alert(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    tokens = prepare(settings, partner=["read"])
    live = RedisLiveViews(client)
    print(f"simulate seed={SEED}")
    with api_server(settings_env, free_port(), tmp_path / "api.log") as base:
        collected: dict[str, Any] = {}

        def listen() -> None:
            def done(events: list[dict[str, Any]]) -> bool:
                alerts = [e for e in events if e.get("event") == "alert"]
                trucks = [e for e in events if e.get("event") == "truck"]
                return bool(trucks) and any(
                    a["json"]["truck_id"] == SCENARIO_TRUCK
                    and a["json"]["rule"] in TEMPERATURE_RULES
                    for a in alerts
                )

            with httpx.stream(
                "GET", f"{base}/v1/stream", headers=auth(tokens["partner"]), timeout=300
            ) as response:
                collected["status"] = response.status_code
                collected["type"] = response.headers["content-type"]
                collected["events"] = sse_events(response.iter_lines(), done, timeout_s=240)

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        # Started after the client subscribed, so every alert is new to it.
        with speed_process(settings_env, log=tmp_path / "speed.log"):
            sim = subprocess.run(
                [LOGISTREAM, "simulate", "--scenario", "reefer_failure", "--speedup", "0",
                 "--seed", str(SEED), "--rate", "0.2"],
                env=settings_env, capture_output=True, timeout=300, check=False,
            )  # fmt: skip
            assert sim.returncode == 0, sim.stderr.decode()[-2000:]
            listener.join(240)
            assert not listener.is_alive(), "the stream never delivered the scenario's alert"
            # The listener stops at the scenario's alert; the resume below needs the change
            # that the speed layer writes after the first one (the run raises several).
            first_id = next(e for e in collected["events"] if e.get("event") == "alert")["id"]
            following = wait_until(
                lambda: live.alert_changes_after(int(first_id), count=1),
                timeout=120,
                what="an alert change after the first",
            )
        assert collected["status"] == 200
        assert collected["type"].startswith("text/event-stream")
        events = collected["events"]
        alerts = [e for e in events if e.get("event") == "alert"]
        scenario = [a for a in alerts if a["json"]["truck_id"] == SCENARIO_TRUCK]
        assert {a["json"]["rule"] for a in scenario if a["json"]["state"] == "open"} & (
            TEMPERATURE_RULES
        )
        # Event ids are the changes' sequence numbers; the live views keep when each was written.
        written = {c.seq: c for c in live.alert_changes_after(0, count=100_000)}
        assert all(a["id"].isdigit() and int(a["id"]) in written for a in alerts)
        assert [int(a["id"]) for a in alerts] == sorted({int(a["id"]) for a in alerts})
        assert all(written[int(a["id"])].alert.alert_id == a["json"]["alert_id"] for a in alerts)
        delays = [a["received"] - written[int(a["id"])].written_at for a in alerts]
        print(f"alert -> stream delays (s): max {max(delays):.3f} over {len(delays)} alerts")
        assert max(delays) < 1.0
        trucks = [e for e in events if e.get("event") == "truck"]
        assert trucks[0]["json"]["reading"]["truck_id"] == trucks[0]["json"]["truck_id"]

    # Reconnecting with Last-Event-ID to another API process (the first one has stopped): the
    # alert changes after it, first of all the next.
    with api_server(settings_env, free_port(), tmp_path / "api-restarted.log") as base:
        first = alerts[0]
        with httpx.stream(
            "GET",
            f"{base}/v1/stream",
            params={"trucks": "false"},
            headers={**auth(tokens["partner"]), "Last-Event-ID": first["id"]},
            timeout=30,
        ) as response:
            resumed = sse_events(response.iter_lines(), lambda ev: len(ev) >= 1, timeout_s=30)
        assert resumed, "a reconnect with Last-Event-ID got no event"
        assert resumed[0]["event"] == "alert"
        assert resumed[0]["id"] == str(following[0].seq)
        if len(alerts) > 1:
            assert resumed[0]["id"] == alerts[1]["id"]


def test_live_stream_sends_shipment_updates_of_the_asked_truck(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    from logistream.live_views import RedisLiveViewsWriter, ShipmentLive, StopEtaView

    tokens = prepare(settings, partner=["read"])
    writer = RedisLiveViewsWriter(client)

    def live(shipment_id: str, truck_id: str, at: float) -> ShipmentLive:
        return ShipmentLive(
            shipment_id=shipment_id, truck_id=truck_id, stage="in_transit", stop=0, since=at - 600,
            updated_at=at, etas=(StopEtaView(1, at + 7200, 120.5, True),),
            arrival_forecast="at this rate the vaccines reach 8.0 °C 40 min before Kisumu",
        )  # fmt: skip

    with api_server(settings_env, free_port(), tmp_path / "api.log") as base:
        collected: list[dict[str, Any]] = []

        def listen() -> None:
            with httpx.stream(
                "GET", f"{base}/v1/stream", params={"trucks": "false", "truck": "KCB 781C"},
                headers=auth(tokens["partner"]), timeout=60,
            ) as response:  # fmt: skip
                collected.extend(
                    sse_events(response.iter_lines(), lambda ev: len(ev) >= 1, timeout_s=45)
                )

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        # Written until the stream has sent one: the listener may subscribe after a write.
        at = 1.8e9
        while listener.is_alive() and at < 1.8e9 + 30:
            at += 1
            writer.write_batch([], {}, [], shipments=[live("SHP-OTHER", "KBX 123A", at)])
            writer.write_batch([], {}, [], shipments=[live("SHP-2026-0118", "KCB 781C", at)])
            listener.join(1.5)
        assert not listener.is_alive(), "the stream sent no shipment update"
    assert [e["event"] for e in collected] == ["shipment"]
    sent = collected[0]["json"]
    assert (sent["shipment_id"], sent["stage"], sent["etas"][0]["late"]) == (
        "SHP-2026-0118", "in_transit", True,
    )  # fmt: skip
    assert sent["arrival_forecast"].startswith("at this rate the vaccines reach 8.0 °C")
