"""The Truck page's pure logic: the current trip's key, its time out of range as a figure with
what it covers, and one 24-hour clock in the display zone for every time the page shows."""

from __future__ import annotations

from datetime import UTC, datetime

from logistream.reads.trip_out_of_range import TripOutOfRange
from logistream.registry import load_registry
from logistream.serving import live_data, truck_data

NAIROBI = "Africa/Nairobi"
# 2026-12-07 21:30:05 UTC, 2026-12-08 00:30:05 in Nairobi (EAT, UTC+3)
LATE = datetime(2026, 12, 7, 21, 30, 5, tzinfo=UTC).timestamp()


def test_the_current_trip_is_the_trip_sent_else_the_truck_and_utc_day() -> None:
    assert truck_data.trip_key("KCK 293K", "KCK293K-1765094400", LATE) == "KCK293K-1765094400"
    # As schema.trip_key.TRIP_EXPR: the UTC day, whatever the display zone's date.
    assert truck_data.trip_key("KCK 293K", None, LATE) == "KCK 293K@2026-12-07"
    assert truck_data.trip_key("KCK 293K", "", LATE) == "KCK 293K@2026-12-07"


def test_durations_read_in_hours_and_minutes() -> None:
    assert truck_data.duration_text(23 * 3600 + 10 * 60 + 59) == "23 h 10 min"
    assert truck_data.duration_text(2 * 3600) == "2 h 0 min"
    assert truck_data.duration_text(83 * 60) == "1 h 23 min"
    assert truck_data.duration_text(540) == "9 min"
    assert truck_data.duration_text(45) == "45 s"
    assert truck_data.duration_text(0) == "0 min"


def test_the_out_of_range_figure_says_which_trip_and_readings_it_covers() -> None:
    audited = TripOutOfRange(trip_id="T1", tor_s=83_400.0, budget_s=3600.0, audited_to=LATE)
    value, why = truck_data.out_of_range_figure(audited, "T1", NAIROBI)
    assert value == "23 h 10 min"
    assert "trip T1" in why
    assert "batch views" in why
    assert "08 Dec 00:30:05" in why  # the last reading the audit saw, on the page's clock
    assert "budget 1 h 0 min" in why

    value, why = truck_data.out_of_range_figure(None, "T2", NAIROBI)
    assert value == "—"
    assert "trip T2 is not in the batch views yet" in why


def test_one_24_hour_clock_in_the_display_zone() -> None:
    assert truck_data.clock(LATE, NAIROBI) == "08 Dec 00:30:05"
    assert truck_data.clock(LATE, "UTC") == "07 Dec 21:30:05"
    # The same clock as the Live and Alerts pages' tables (the open alerts shown on this page).
    assert truck_data.clock(LATE, NAIROBI) == live_data.local_time(LATE, NAIROBI)
    assert "%I" not in truck_data.CLOCK
    assert "%p" not in truck_data.CLOCK
    assert truck_data.AXIS_CLOCK == "%H:%M"


def test_table_times_are_shown_on_the_clock() -> None:
    audited = {"start": LATE, "end": LATE + 600, "kind": "high", "trip_id": "T1",
               "ongoing": False, "minutes_out": 10.0, "peak_c": 9.0, "alarm_at": None}  # fmt: skip
    (row,) = truck_data.text_times(truck_data.excursion_rows([audited], NAIROBI))
    assert (row["start"], row["end"], row["alarm"]) == ("08 Dec 00:30:05", "08 Dec 00:40:05", "—")
    assert row["peak °C"] == 9.0


def test_chart_times_are_the_zones_wall_clock_drawn_in_utc() -> None:
    # Marked UTC and drawn in UTC: the browser's own zone cannot move the labels.
    assert truck_data.chart_time(LATE, NAIROBI) == "2026-12-08T00:30:05Z"
    (point,) = truck_data.chart_rows(
        [(LATE, 9.0)], load_registry().profile_for("vaccines"), NAIROBI
    )
    assert point == {"time": "2026-12-08T00:30:05Z", "at": "08 Dec 00:30:05", "temp": 9.0,
                     "low": 2.0, "high": 8.0, "outside": True}  # fmt: skip
    rows = truck_data.fuel_speed_rows(
        [
            {"t": LATE, "fuel": 61.5, "speed_kmh": None},
            {"t": LATE + 60, "fuel": 61.4, "speed_kmh": 70.0},
        ],
        NAIROBI,
    )
    assert [(r["time"], r["at"], r["series"], r["value"]) for r in rows] == [
        ("2026-12-08T00:30:05Z", "08 Dec 00:30:05", "fuel %", 61.5),
        ("2026-12-08T00:31:05Z", "08 Dec 00:31:05", "fuel %", 61.4),
        ("2026-12-08T00:31:05Z", "08 Dec 00:31:05", "speed km/h", 70.0),
    ]
