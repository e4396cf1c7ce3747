"""The pure part of a shipper's or receiver's view of the live state: which of a truck's alerts
fall in its window, a trimmed truck view and its status, and the live stream's cached answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logistream.api.tenant_live import (
    CareCache,
    status_for,
    view_in_care,
    visible_alerts,
    windows_of,
)
from logistream.events import Alert, Reading
from logistream.live_views import TruckView
from logistream.live_views.records import AlertSummary
from logistream.reads.tenant_trucks import in_care

START = 1_800_000_000.0
WINDOWS = {"KCB 781C": START}


def _alert(alert_id: str, truck_id: str, opened_at: float, severity: str = "major") -> Alert:
    return Alert(
        alert_id=alert_id, truck_id=truck_id, rule="temp_high", severity=severity,  # type: ignore[arg-type]
        state="open", opened_at=opened_at, changed_at=opened_at, message="warm",
    )  # fmt: skip


def test_a_truck_is_in_care_from_its_shipments_creation_on_only() -> None:
    created = datetime.fromtimestamp(START, UTC)
    assert windows_of({"KCB 781C": created}) == WINDOWS
    for windows in ({"KCB 781C": created}, WINDOWS):
        assert in_care(windows, "KCB 781C", START)
        assert in_care(windows, "KCB 781C", START + 3600)
        assert not in_care(windows, "KCB 781C", START - 0.001)  # the previous customer's
        assert not in_care(windows, "KCA 452B", START + 3600)  # not its truck
    assert not in_care({}, "KCB 781C", START)


def test_only_the_alerts_of_trucks_in_care_opened_in_their_window_are_visible() -> None:
    before = _alert("a-before", "KCB 781C", START - 60)
    during = _alert("a-during", "KCB 781C", START + 60)
    other = _alert("a-other", "KCA 452B", START + 60)
    assert visible_alerts([before, during, other], WINDOWS) == [during]
    assert visible_alerts([before, during, other], {}) == []


@pytest.mark.parametrize(
    ("status", "kept", "expected"),
    [
        ("critical", [], "ok"),
        ("critical", ["minor", "major"], "major"),
        ("major", ["warning"], "warning"),
        ("offline", [], "offline"),
        ("offline", ["critical"], "offline"),
        ("ok", [], "ok"),
    ],
)
def test_a_trimmed_views_status_is_the_worst_alert_kept(
    status: str, kept: list[str], expected: str
) -> None:
    assert status_for(status, kept) == expected


def test_a_truck_view_keeps_only_the_alerts_opened_in_its_window() -> None:
    view = TruckView(
        truck_id="KCB 781C",
        reading=Reading(truck_id="KCB 781C", temp=9.5, timestamp=START + 120),
        status="critical",
        alerts=(
            AlertSummary("a-before", "temp_critical", "critical", "open"),
            AlertSummary("a-during", "temp_high", "major", "acknowledged"),
            AlertSummary("a-unknown", "door_open", "critical", "open"),
        ),
        updated_at=START + 121,
    )
    opened = {"a-before": START - 60, "a-during": START + 60}  # a-unknown: not found
    trimmed = view_in_care(view, WINDOWS, opened)
    assert [a.alert_id for a in trimmed.alerts] == ["a-during"]
    assert trimmed.status == "major"
    assert (trimmed.reading, trimmed.updated_at) == (view.reading, view.updated_at)
    # Nothing to trim: the same view.
    assert view_in_care(trimmed, WINDOWS, opened) is trimmed


def test_the_streams_answer_is_read_again_once_stale() -> None:
    now = [100.0]
    answers = [{"KCB 781C": START}, {}]
    reads: list[int] = []

    def read() -> dict[str, float]:
        reads.append(1)
        return answers[len(reads) - 1]

    cache = CareCache(read, ttl_s=5.0, clock=lambda: now[0])
    assert cache.fresh() is None  # nothing read yet
    assert cache.get() == {"KCB 781C": START}
    now[0] = 104.9
    assert cache.fresh() == {"KCB 781C": START}
    assert cache.get() == {"KCB 781C": START}
    assert len(reads) == 1
    now[0] = 105.0  # the shipment was delivered meanwhile: the truck is gone
    assert cache.fresh() is None
    assert cache.get() == {}
    assert len(reads) == 2
