"""The truck chart's operating-mode bands (pure): one per mode over the window, clipped to it,
labelled with its kind, on the page's clock in the display zone; and the chart draws them as a
rect layer under the temperature."""

from __future__ import annotations

from datetime import UTC, datetime

from logistream.reads.modes import ModeInterval
from logistream.registry import load_registry
from logistream.serving import truck_data
from logistream.serving.screens.truck import _chart

ZONE = "Africa/Nairobi"


def mode(mode_id: str, start_h: int, end_h: int, *, early: bool = False) -> ModeInterval:
    return ModeInterval(
        mode_id=mode_id,
        truck_id="KCB 781C",
        kind="washout",
        reason="after fish",
        starts_at=datetime(2026, 12, 7, start_h, tzinfo=UTC),
        ends_at=datetime(2026, 12, 7, end_h, tzinfo=UTC),
        ended_early=early,
        set_by="cli:ann",
        approved_by=None,
    )


def at(hour: int) -> float:
    return datetime(2026, 12, 7, hour, tzinfo=UTC).timestamp()


def test_a_band_per_mode_in_the_window_clipped_to_it_on_the_display_clock() -> None:
    modes = [mode("old", 1, 2), mode("wash", 9, 14, early=True), mode("later", 20, 21)]
    rows = truck_data.mode_band_rows(modes, at(10), at(16), ZONE)
    assert rows == [
        {
            "start": "2026-12-07T13:00:00Z",  # clipped to the window's start, 10:00 UTC = 13 EAT
            "end": "2026-12-07T17:00:00Z",
            "kind": "washout",
            "reason": "after fish",
            "from": "07 Dec 12:00:00",  # the mode's own times in the tooltip
            "to": "07 Dec 17:00:00 (ended early)",
            "set_by": "cli:ann",
            "approved_by": "—",
        }
    ]
    assert truck_data.mode_band_rows([], at(10), at(16), ZONE) == []


def test_the_chart_draws_the_bands_as_a_rect_layer_under_the_temperature() -> None:
    profile = load_registry().cargo["vaccines"]
    points = [(at(10) + 60 * i, 5.0 + (i % 7)) for i in range(120)]
    rows = truck_data.chart_rows(points, profile, ZONE)
    bands = truck_data.mode_band_rows([mode("wash", 9, 11)], at(10), at(12), ZONE)
    spec = _chart(rows, several=False, modes=bands).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rect", "text", "area", "line", "point"]
    rect = spec["layer"][0]
    assert rect["encoding"]["x"]["field"] == "start"
    assert rect["encoding"]["x2"]["field"] == "end"
    # Altair moves inline data into the spec's named datasets.
    values = rect["data"].get("values") or spec["datasets"][rect["data"]["name"]]
    assert values == bands
    assert spec["layer"][1]["encoding"]["text"]["field"] == "kind"
    # No mode: the chart as before.
    plain = _chart(rows, several=False).to_dict()
    assert [layer["mark"]["type"] for layer in plain["layer"]] == ["area", "line", "point"]
