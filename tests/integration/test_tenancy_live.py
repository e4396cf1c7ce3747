"""Tenancy of the live state on a real PostgreSQL and Redis (Kafka for the API in-process): a
shipper's or receiver's token sees, in GET /v1/trucks, /v1/trucks/{id}, /v1/alerts/open and
/v1/stream, only the trucks carrying its active shipments and only the alerts opened since the
shipment was created (an alert of the same truck opened before is the previous customer's);
another truck answers 404 as one that does not exist; once the shipment is delivered the truck
is gone (from the live stream within the 5 s the stream trusts its answer); the carrier's token
sees everything as before."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import redis
from tests.integration.api_support import api_client, api_server, auth, fetch, prepare, sse_events
from tests.integration.test_api_shipments import DOCUMENT, ID, REGISTRY
from tests.integration.test_tenancy_shipments import OTHER, RECEIVER, SHIPPER, _acme

from logistream.api.shipment_input import read_shipment
from logistream.api.tenant_live import CARE_TTL_S
from logistream.api.token_store import create_token
from logistream.config import Settings
from logistream.events import Alert, Reading
from logistream.live_views import RedisLiveViewsWriter
from logistream.live_views.records import AlertSummary, TruckLatest
from logistream.shipments.store import ShipmentStore, new_record

TRUCK = DOCUMENT["truck_id"]  # kemsa -> moh-western
ACME_TRUCK = _acme()["truck_id"]  # acme -> dairy-rx
FREE = "KCD 219D"  # no shipment


def _alert(alert_id: str, truck_id: str, opened_at: float, severity: str) -> Alert:
    return Alert(
        alert_id=alert_id, truck_id=truck_id, rule="temp_high", severity=severity,  # type: ignore[arg-type]
        state="open", opened_at=opened_at, changed_at=opened_at, message=f"{alert_id} warm",
    )  # fmt: skip


class Fleet:
    """Three trucks in the live views, as the speed layer writes them: each shipment's truck
    and one free truck; on the shipment's truck one alert opened an hour before the shipment
    was created (the previous customer's) and one after."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
            store = ShipmentStore(conn, REGISTRY)
            for document in (DOCUMENT, _acme()):
                store.create(new_record(read_shipment(document, REGISTRY)), "test")
        rows = fetch(settings, "SELECT shipment_id, created_at FROM shipments")
        created = {shipment_id: at.timestamp() for shipment_id, at in rows}
        self.alerts = [
            _alert("before", TRUCK, created[ID] - 3600, "critical"),
            _alert("during", TRUCK, created[ID] + 1, "minor"),
            _alert("acme", ACME_TRUCK, created[OTHER] + 1, "major"),
            _alert("free", FREE, created[ID] + 1, "major"),
        ]
        self.writer = RedisLiveViewsWriter(client)
        self.at = created[ID]
        self.write(self.alerts)

    def write(self, changes: list[Alert] | None = None) -> None:
        """A newer reading of every truck (and the alert changes)."""
        self.at += 1
        summaries = {
            truck: tuple(
                AlertSummary(a.alert_id, a.rule, a.severity, a.state)
                for a in self.alerts
                if a.truck_id == truck
            )
            for truck in (TRUCK, ACME_TRUCK, FREE)
        }
        status = {TRUCK: "critical", ACME_TRUCK: "major", FREE: "major"}
        trucks = [
            TruckLatest(
                t, Reading(truck_id=t, temp=7.5, timestamp=self.at), status[t], summaries[t]
            )
            for t in (TRUCK, ACME_TRUCK, FREE)
        ]
        self.writer.write_batch(trucks, {}, changes or [])


def _tokens(settings: Settings) -> dict[str, dict[str, str]]:
    carrier = prepare(settings, dispatch=["read", "shipments"])["dispatch"]
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        made = {
            "kemsa": create_token(conn, "kemsa-desk", ["read"], SHIPPER),
            "moh": create_token(conn, "moh-desk", ["read"], RECEIVER),
            "acme": create_token(conn, "acme-desk", ["read", "shipments"], "acme"),
        }
    return {"carrier": auth(carrier)} | {name: auth(token) for name, token in made.items()}


def _deliver(settings: Settings, shipment_id: str) -> None:
    """The shipment's status as the store leaves it at its last PoD."""
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        conn.execute(
            "UPDATE shipments SET status = 'delivered' WHERE shipment_id = %s", [shipment_id]
        )


def test_a_tenant_sees_its_trucks_and_their_alerts_while_they_carry_its_cargo(
    settings: Settings, client: redis.Redis
) -> None:
    tokens = _tokens(settings)
    Fleet(settings, client)
    with api_client(settings, fleet_cache_s=0) as api:

        def trucks(who: str) -> dict[str, list[str]]:
            answer = api.get("/v1/trucks", headers=tokens[who])
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["count"] == len(body["trucks"])
            return {t["truck_id"]: [a["alert_id"] for a in t["alerts"]] for t in body["trucks"]}

        def open_alerts(who: str, query: str = "") -> list[str]:
            answer = api.get(f"/v1/alerts/open{query}", headers=tokens[who])
            assert answer.status_code == 200, answer.text
            return [a["alert_id"] for a in answer.json()["alerts"]]

        # The carrier: every truck, every alert (most severe first), as before.
        assert trucks("carrier") == {
            TRUCK: ["before", "during"], ACME_TRUCK: ["acme"], FREE: ["free"]
        }  # fmt: skip
        assert sorted(open_alerts("carrier")) == ["acme", "before", "during", "free"]

        # The shipper and the receiver of SHP-2026-0118: its truck, and the alert of its window.
        for who in ("kemsa", "moh"):
            assert trucks(who) == {TRUCK: ["during"]}, who
            mine = api.get(f"/v1/trucks/{TRUCK}", headers=tokens[who])
            assert mine.status_code == 200, mine.text
            assert [a["alert_id"] for a in mine.json()["alerts"]] == ["during"]
            assert mine.json()["status"] == "minor"  # not the previous customer's critical
            assert open_alerts(who) == ["during"]
            assert open_alerts(who, f"?truck={ACME_TRUCK.replace(' ', '%20')}") == []
        assert trucks("acme") == {ACME_TRUCK: ["acme"]}
        assert open_alerts("acme") == ["acme"]

        # Another's truck, or a free one, answers exactly as a truck that does not exist.
        unknown = api.get("/v1/trucks/KZZ 000Z", headers=tokens["acme"])
        assert unknown.status_code == 404
        for who, truck in (("acme", TRUCK), ("acme", FREE), ("kemsa", ACME_TRUCK),
                           ("moh", FREE)):  # fmt: skip
            theirs = api.get(f"/v1/trucks/{truck}", headers=tokens[who])
            assert (theirs.status_code, theirs.json()["error"]) == (404, "truck_not_found")
            assert theirs.json()["detail"] == unknown.json()["detail"].replace("KZZ 000Z", truck)
        assert api.get(f"/v1/trucks/{TRUCK}", headers=tokens["carrier"]).status_code == 200

        # A truck's mode stays the carrier's (the route under /v1/trucks refuses a tenant).
        mode = {"kind": "washout", "reason": "mine?", "ends_at": time.time() + 3600}
        refused = api.post(f"/v1/trucks/{ACME_TRUCK}/mode", json=mode, headers=tokens["acme"])
        assert refused.status_code == 403, refused.text

        # Delivered: the truck and its alerts are no longer the shipper's or the receiver's.
        _deliver(settings, ID)
        for who in ("kemsa", "moh"):
            assert trucks(who) == {}
            assert api.get(f"/v1/trucks/{TRUCK}", headers=tokens[who]).status_code == 404
            assert open_alerts(who) == []
        assert trucks("acme") == {ACME_TRUCK: ["acme"]}
        assert set(trucks("carrier")) == {TRUCK, ACME_TRUCK, FREE}


def test_a_tenants_live_stream_carries_its_trucks_events_until_delivery(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    import httpx

    from logistream.stack.process import free_port

    tokens = _tokens(settings)
    fleet = Fleet(settings, client)
    done = threading.Event()
    seen: dict[str, list[dict[str, Any]]] = {}

    def listen(who: str, base: str) -> None:
        def keep(events: list[dict[str, Any]]) -> bool:
            seen[who] = events  # the list grows as events come
            return done.is_set()

        # since=0: every kept alert change, the previous customer's included, is replayed.
        try:
            with httpx.stream(
                "GET", f"{base}/v1/stream?since=0", headers=tokens[who], timeout=90
            ) as response:
                assert response.status_code == 200
                sse_events(response.iter_lines(), keep, timeout_s=80)
        except httpx.HTTPError:
            if not done.is_set():  # a quiet stream is cut when the server stops at the end
                raise

    def events(who: str, after: float = 0.0) -> list[tuple[str, str]]:
        return [
            (e["event"], e["json"].get("alert_id") or e["json"]["truck_id"])
            for e in list(seen.get(who, []))
            if e["received"] >= after
        ]

    with api_server(settings_env, free_port(), tmp_path / "api.log") as base:
        for who in ("carrier", "kemsa", "moh", "acme"):
            threading.Thread(target=listen, args=(who, base), daemon=True).start()
        deadline = time.monotonic() + 40
        first = (("carrier", FREE), ("kemsa", TRUCK), ("moh", TRUCK), ("acme", ACME_TRUCK))
        while time.monotonic() < deadline and not all(
            ("truck", truck) in events(who) for who, truck in first
        ):
            fleet.write()
            time.sleep(0.5)
        for _ in range(3):  # a few more updates each
            fleet.write()
            time.sleep(1.0)

        assert {("alert", a.alert_id) for a in fleet.alerts} <= set(events("carrier"))
        assert {("truck", t) for t in (TRUCK, ACME_TRUCK, FREE)} <= set(events("carrier"))
        for who in ("kemsa", "moh"):
            assert set(events(who)) == {("alert", "during"), ("truck", TRUCK)}, who
            views = [e["json"] for e in seen[who] if e["event"] == "truck"]
            assert all([a["alert_id"] for a in v["alerts"]] == ["during"] for v in views)
            assert all(v["status"] == "minor" for v in views)
        assert set(events("acme")) == {("alert", "acme"), ("truck", ACME_TRUCK)}

        # Delivered mid-stream: within the stream's 5 s (+ a scan) the truck's events stop.
        _deliver(settings, ID)
        delivered = time.time()
        late_alert = _alert("late", TRUCK, fleet.at, "major")
        quiet_from = delivered + CARE_TTL_S + 2.0
        while time.time() < quiet_from + 5:
            fleet.write([late_alert] if time.time() > quiet_from else None)
            time.sleep(1.0)
        done.set()
        fleet.write()
        time.sleep(1.5)
        for who in ("kemsa", "moh"):
            assert events(who, after=quiet_from) == [], who
        assert ("alert", "late") in events("carrier", after=quiet_from)
        assert ("truck", TRUCK) in events("carrier", after=quiet_from)
        assert ("truck", ACME_TRUCK) in events("acme", after=quiet_from)
