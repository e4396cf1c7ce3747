"""The dashboard's pure logic: map data, health, alerts, excursions, passwords, pgAdmin files."""

from __future__ import annotations

from pathlib import Path

from logistream.events import Alert
from logistream.live_views import Heartbeat, HeartbeatRecord
from logistream.reads.heartbeats import BridgeBeat
from logistream.registry import load_registry
from logistream.serving import alerts_data, auth, health, map_data, pgadmin, truck_data

REGISTRY = load_registry()


def _alert(truck: str, severity: str, rule: str, opened: float) -> Alert:
    return Alert(
        alert_id=f"{truck}-{rule}", truck_id=truck, rule=rule,
        severity=severity,  # type: ignore[arg-type]
        state="open", opened_at=opened, changed_at=opened, message="m",
    )  # fmt: skip


def test_status_classes_group_severities_for_the_map() -> None:
    statuses = ("ok", "offline", "critical", "major", "minor", "warning")
    assert [map_data.status_class(s) for s in statuses] == [
        "ok", "offline", "alarm", "alarm", "warning", "warning"
    ]  # fmt: skip


def test_the_shipped_basemap_has_kenya_roads_and_towns() -> None:
    kinds = {f["properties"]["kind"] for f in map_data.basemap()["features"]}
    assert kinds == {"country", "water", "road", "town"}
    names = {t["name"] for t in map_data.towns()}
    assert {"Nairobi", "Mombasa", "Kisumu", "Voi"} <= names
    for town in map_data.towns():
        lon, lat = town["position"]
        assert 33.5 < lon < 42.0, town
        assert -4.8 < lat < 5.5, town


def test_alerts_sort_by_severity_then_age_and_filter_by_route() -> None:
    alerts = [
        _alert("KBX 123A", "warning", "speeding", 1.0),
        _alert("KCK 293K", "major", "temp_high", 5.0),
        _alert("KCB 781C", "major", "temp_high", 2.0),
    ]
    assert [a.truck_id for a in alerts_data.ordered(alerts)] == ["KCB 781C", "KCK 293K", "KBX 123A"]
    route = REGISTRY.truck("KCK 293K")
    assert route is not None
    chosen = alerts_data.AlertFilter(routes=[route.route])
    assert [a.truck_id for a in alerts_data.apply_filter(alerts, chosen, REGISTRY)] == ["KCK 293K"]
    assert alerts_data.place(-3.3961, 38.5561, REGISTRY) == "at Voi"
    assert alerts_data.place(None, None, REGISTRY) == "—"


def test_health_is_red_without_a_heartbeat_or_with_an_old_one() -> None:
    assert not health.speed_health([]).ok
    beat = Heartbeat(HeartbeatRecord(instance="a", at=0.0), age_s=60.0)
    assert not health.speed_health([beat]).ok
    fresh = BridgeBeat("b", last_commit_at=100.0, lag_messages=3, lag_seconds=0.1)
    assert health.bridge_health([fresh], now=105.0).ok
    assert not health.bridge_health([fresh], now=200.0).ok
    assert not health.bridge_health([], now=0.0).ok


def test_truck_page_shows_the_audits_excursions_in_local_time() -> None:
    audited = {"start": 0.0, "end": 600.0, "kind": "high", "trip_id": "T1", "ongoing": True,
               "minutes_out": 9.0, "peak_c": 12.46, "alarm_at": None}  # fmt: skip
    (row,) = truck_data.excursion_rows([audited], "Africa/Nairobi")
    assert (row["start"].hour, row["end"].minute) == (3, 10)  # EAT is UTC+3
    assert (row["kind"], row["peak °C"], row["alarm"]) == ("high (ongoing)", 12.5, "—")
    assert truck_data.merge_series([(0, 1.0), (60, 2.0)], [(60, 2.0), (120, 3.0)]) == [
        (0, 1.0), (60, 2.0), (120, 3.0)
    ]  # fmt: skip


def test_passwords_are_salted_scrypt_and_verify() -> None:
    one, two = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert one != two
    assert one.startswith("scrypt$")
    assert "correct horse" not in one
    assert auth.verify_password("correct horse", one)
    assert not auth.verify_password("wrong horse", one)
    assert not auth.verify_password("x", "not-a-hash")
    assert auth.can_acknowledge("dispatcher")
    assert not auth.can_acknowledge("viewer")
    assert auth.can_manage_users("admin")
    assert not auth.can_manage_users("dispatcher")


def test_pgadmin_registers_the_database_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://logistream:s3cr:et@127.0.0.1:15432/logistream"
    servers = pgadmin.servers_json(url, tmp_path / "pgpass")
    server = servers["Servers"]["1"]  # type: ignore[index]
    assert (server["Host"], server["Port"], server["MaintenanceDB"], server["Username"]) == (
        "127.0.0.1", 15432, "logistream", "logistream"
    )  # fmt: skip
    assert "s3cr" not in str(servers)
    assert pgadmin.pgpass_line(url) == "127.0.0.1:15432:*:logistream:s3cr\\:et"


def test_failed_notifications_show_local_time() -> None:
    rows = alerts_data.localise_failed(
        [{"alert_id": "a", "reason": "SMTP refused", "failed": 1767225600.0}], "Africa/Nairobi"
    )
    assert rows == [{"alert_id": "a", "reason": "SMTP refused", "failed": "01 Jan 03:00:00"}]
