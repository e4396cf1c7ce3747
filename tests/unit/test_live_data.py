"""What the live dashboard shows, shaped from the speed layer's views (no servers)."""

from __future__ import annotations

from logistream.events import Alert, Reading
from logistream.live_views import AlertSummary, Heartbeat, HeartbeatRecord, TruckView
from logistream.registry import load_registry
from logistream.serving import live_data

REGISTRY = load_registry()


def _view(truck: str, temp: float, cargo: str | None, status: str = "ok") -> TruckView:
    reading = Reading(truck_id=truck, temp=temp, timestamp=1767225600.0, cargo=cargo, fuel=50.0)
    alerts = () if status == "ok" else (AlertSummary("a", "temp_high", status, "open"),)
    return TruckView(truck_id=truck, reading=reading, status=status, alerts=alerts, updated_at=0.0)


def _alert(truck: str, severity: str, opened_at: float) -> Alert:
    return Alert(
        alert_id=f"{truck}-{severity}",
        truck_id=truck,
        rule="temp_high",
        severity=severity,  # type: ignore[arg-type]
        state="open",
        opened_at=opened_at,
        changed_at=opened_at,
        message="m",
    )


def test_headline_counts_trucks_in_their_cargo_range_and_open_alerts_by_severity() -> None:
    fleet = [
        _view("A", 5.0, "vaccines"),
        _view("B", 9.0, "vaccines", "major"),
        _view("C", 3.0, None),
    ]
    alerts = [_alert("B", "major", 1.0)]
    figures = live_data.headline(fleet, alerts, REGISTRY)
    assert (figures.trucks, figures.in_range) == (3, 2)
    assert figures.open_by_severity == {"critical": 0, "major": 1, "minor": 0, "warning": 0}
    assert round(figures.share_in_range, 3) == 0.667


def test_trucks_with_the_worst_status_come_first() -> None:
    fleet = [
        _view("A", 5.0, "milk"),
        _view("B", 9.0, "vaccines", "critical"),
        _view("C", 3.0, None, "offline"),
    ]
    rows = live_data.truck_rows(fleet, REGISTRY, "Africa/Nairobi")
    assert [r["truck"] for r in rows] == ["B", "C", "A"]
    assert rows[0]["range °C"] == "2 – 8"
    assert rows[0]["cargo"] == "Vaccines"
    assert rows[0]["last reading"] == "01 Jan 03:00:00"  # 00:00 UTC is 03:00 in Nairobi


def test_alerts_sort_by_severity_then_age() -> None:
    alerts = [
        _alert("A", "warning", 1.0),
        _alert("B", "critical", 5.0),
        _alert("C", "critical", 2.0),
    ]
    assert [r["truck"] for r in live_data.alert_rows(alerts, "UTC")] == ["C", "B", "A"]


def test_a_missing_or_stale_heartbeat_is_never_shown_as_healthy() -> None:
    assert live_data.speed_layer_health([])[0] is False
    stale = Heartbeat(record=HeartbeatRecord(instance="i", at=0.0), age_s=30.0)
    healthy, line = live_data.speed_layer_health([stale])
    assert not healthy
    assert "stalled" in line
    fresh = Heartbeat(record=HeartbeatRecord(instance="i", at=0.0, lag_records=3), age_s=1.0)
    assert live_data.speed_layer_health([fresh, stale]) == (
        True,
        "Speed layer OK: 2 process(es), lag 3 readings.",
    )
