"""Audits and Fleet analytics read for people, over a real PostgreSQL (Streamlit AppTest).

The batch views hold the hot vaccines trip of ``tests.dashboard_data`` and a frozen trip (no
MKT by design, 3 h 05 min out of range, a driver idling 2 h 05 min). The pages must show no
database column name, durations in hours and minutes, at most two decimals, no "None", the
frozen trip's missing MKT in words, route names instead of ids, no JSON box, and three charts
with titled axes and units.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import psycopg
from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data
from tests.integration.test_dashboard_pages import _page, dashboard  # noqa: F401 (fixture)

from logistream.config import Settings
from logistream.registry import cached_registry
from logistream.serving.users import User

FROZEN_TRUCK = "KCA 452B"
FROZEN_TRIP = "TRIP-FRZ-1"
RAW_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
DURATION = re.compile(r"^(-?\d+ s|-?\d+ min|-?\d+ h \d\d min)$")
REGISTRY = cached_registry()


def _place_frozen_trip(settings: Settings) -> None:
    """A frozen trip as the batch layer writes it: MKT NULL (profile ``mkt = false``)."""
    now = time.time()
    start, end = now - 6 * 3600, now - 3600
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO trips (truck_id, trip_id, trip_id_sent, driver_id, cargo, route, "
            "start_time, end_time, duration_s, distance_km, readings, gap_count, gap_s, "
            "longest_gap_s) VALUES (%s, %s, true, 'DRV-002', 'frozen', 'naivasha_mombasa', "
            "to_timestamp(%s), to_timestamp(%s), %s, 301.23456, 18000, 0, 0, 0)",
            [FROZEN_TRUCK, FROZEN_TRIP, start, end, end - start],
        )
        conn.execute(
            "INSERT INTO trip_compliance (truck_id, trip_id, cargo, readings, min_c, max_c, "
            "mean_c, above_s, below_s, tor_s, tor_budget_s, defrost_s, covered_s, gap_s, mkt_c, "
            "activation_energy_kj_mol, hard_limit_passed, excursions, verdict, reason) VALUES "
            "(%s, %s, 'frozen', 18000, -23.456789, -16.123456, -21.98765, 11100, 0, 11100, "
            "7200, 0, 18000, 0, NULL, 83.144, false, 1, 'fail', "
            "'out of range 185 min, budget 120 min spent')",
            [FROZEN_TRUCK, FROZEN_TRIP],
        )
        conn.execute(
            "INSERT INTO fuel_efficiency (truck_id, trip_id, driver_id, route, tank_litres, "
            "distance_km, consumed_l, l_per_100km, refuelled_l, refuels, stolen_l, thefts, "
            "reefer_hours, reefer_l_per_h) VALUES (%s, %s, 'DRV-002', 'naivasha_mombasa', 450, "
            "301.23456, 90.98765, 30.2049, 0, 0, 0, 0, 1.5, 2.34567)",
            [FROZEN_TRUCK, FROZEN_TRIP],
        )
        conn.execute(
            "INSERT INTO driver_behaviour (driver_id, truck_id, trip_id, distance_km, "
            "harsh_brakes, harsh_accels, brakes_per_100km, accels_per_100km, driving_s, "
            "speeding_s, idling_s, score) VALUES ('DRV-002', %s, %s, 301.23456, 2, 2, 0.6639, "
            "0.6639, 10800, 65, 7500, 88.87654)",
            [FROZEN_TRUCK, FROZEN_TRIP],
        )


def _frames(page: AppTest) -> list[Any]:
    return [f.value for f in page.dataframe]


def _assert_for_people(frame: Any) -> None:
    """No raw column name, no None, durations in h/min, numbers with at most two decimals."""
    for header in frame.columns:
        assert not RAW_NAME.match(str(header)), f"database column name shown: {header}"
    for header in frame.columns:
        for cell in frame[header]:
            assert cell is not None, header
            assert str(cell) not in ("None", "nan", "NaN"), (header, cell)
            if isinstance(cell, float):
                assert not math.isnan(cell), header
                assert round(cell, 2) == cell, f"{header}: {cell} has more than two decimals"
            if isinstance(cell, str) and re.fullmatch(r"-?\d+\.\d+", cell):
                assert len(cell.split(".")[1]) <= 2, f"{header}: {cell}"
        if str(header).startswith("Time "):
            assert all(DURATION.match(str(c)) for c in frame[header]), list(frame[header])


def test_audits_page_reads_for_people(dashboard: Settings) -> None:  # noqa: F811
    data.place_batch_views(dashboard)
    _place_frozen_trip(dashboard)
    page = _page("audits", User("vic", "viewer"))
    assert not page.exception
    trips, excursions, reconciled = _frames(page)
    for frame in (trips, excursions, reconciled):
        _assert_for_people(frame)
    by_trip = {t: i for i, t in enumerate(trips["Trip"])}
    frozen, hot = by_trip[FROZEN_TRIP], by_trip[data.TRIP]
    assert trips["MKT (°C)"][frozen] == "not computed (does not apply to frozen goods)"
    assert trips["MKT (°C)"][hot] == "7.4"
    assert trips["Time out of range"][frozen] == "3 h 05 min"
    assert trips["Time out of range"][hot] == "9 min"
    assert trips["Route"][frozen] == REGISTRY.routes["naivasha_mombasa"].label
    assert trips["Cargo"][frozen] == REGISTRY.cargo["frozen"].label
    assert trips["Lowest (°C)"][frozen] == -23.46
    assert list(reconciled["Status"]) == ["on time"]
    assert not page.json, "no unlabelled JSON box"

    page.selectbox[0].set_value(f"{FROZEN_TRUCK}|{FROZEN_TRIP}").run()
    assert not page.exception
    figures = dict(page.table[0].value.itertuples(index=False, name=None))
    assert figures["MKT (°C)"] == "not computed (does not apply to frozen goods)"
    assert figures["Time out of range"] == "3 h 05 min"
    assert figures["Allowed range"] == "-25 to -18 °C"
    assert figures["Highest (°C)"] == "-16.12"


def _vega_specs(page: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in page.get("vega_lite_chart")]


def _chart_data(page: AppTest, index: int) -> Any:
    """The rows a chart draws (Streamlit sends them apart from the spec, as Arrow)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    [dataset] = page.get("vega_lite_chart")[index].proto.datasets
    return convert_arrow_bytes_to_pandas_df(dataset.data.data)


def test_fleet_analytics_reads_for_people_and_charts_fuel_and_scores(
    dashboard: Settings,  # noqa: F811
) -> None:
    data.place_batch_views(dashboard)
    _place_frozen_trip(dashboard)
    page = _page("analytics", User("vic", "viewer"))
    assert not page.exception
    by_truck, by_route, by_driver, scorecards, thefts, alerts = _frames(page)
    for frame in (by_truck, by_route, by_driver, scorecards, thefts, alerts):
        _assert_for_people(frame)
    assert list(by_truck["Truck"]) == [FROZEN_TRUCK, data.HOT_TRUCK]  # by plate
    assert list(by_truck["Fuel (L per 100 km)"]) == [30.2, 35.0]
    assert set(by_route["Route"]) == {
        REGISTRY.routes["mombasa_nairobi"].label,
        REGISTRY.routes["naivasha_mombasa"].label,
    }
    cards = {d: i for i, d in enumerate(scorecards["Driver"])}
    assert scorecards["Time idling"][cards["DRV-002"]] == "2 h 05 min"
    assert scorecards["Score (0–100)"][cards["DRV-002"]] == 88.9
    assert list(thefts["Where"]) == ["—"]  # the test's theft has no position
    assert list(alerts["Fuel lost (L)"]) == [12.0]

    specs = _vega_specs(page)
    assert len(specs) == 3, "fuel by truck, fuel by route, driver scores"
    titles = [(s["encoding"]["y"]["title"], s["encoding"]["x"]["title"]) for s in specs]
    assert titles == [
        ("Truck", "Fuel (L per 100 km)"),
        ("Route", "Fuel (L per 100 km)"),
        ("Driver", "Driving score (0–100, higher is better)"),
    ]
    # Route names are long: the axis shows them whole, not cut at Vega's default 180 px.
    assert specs[1]["encoding"]["y"]["axis"]["labelLimit"] >= 400
    route_bars = _chart_data(page, 1)
    assert dict(zip(route_bars["name"], route_bars["value"], strict=True)) == {
        REGISTRY.routes["mombasa_nairobi"].label: 35.0,
        REGISTRY.routes["naivasha_mombasa"].label: 30.2,
    }
