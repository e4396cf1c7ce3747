"""How the pages show a truck's live temperature (no servers): a truck with several probes shows
each probe by its registry name, a single-probe truck its reading; the truck chart has one curve
per probe, archived and live points merged per probe."""

from __future__ import annotations

from logistream.events import Reading
from logistream.live_views import ProbeLatest, TruckView
from logistream.registry import load_registry
from logistream.serving import live_data, map_data, probe_temps, truck_data

REGISTRY = load_registry()
T0 = 1_767_225_600.0
TWO = "KBX 123A"  # front and rear in the shipped devices.toml
RETURN_AIR = "KCJ 675J"  # front and return_air


def _view(truck: str, temp: float, *probes: ProbeLatest) -> TruckView:
    reading = Reading(
        truck_id=truck, temp=temp, timestamp=T0, cargo="vaccines", lat=-1.3, lon=36.8,
        probe_id=probes[-1].probe_id if probes else None,
    )  # fmt: skip
    return TruckView(truck, reading, "ok", (), 0.0, probes=probes)


def test_labels_name_each_probe_by_id_and_position() -> None:
    assert probe_temps.probe_label("front", "front") == "front"
    assert probe_temps.probe_label("return_air", "return_air") == "return air"
    assert probe_temps.probe_label("p2", "rear") == "p2 (rear)"
    assert probe_temps.probe_label("p9", None) == "p9"
    assert probe_temps.probe_label(None, "product") == probe_temps.SINGLE
    assert probe_temps.probe_labels(REGISTRY, RETURN_AIR) == {
        "front": "front",
        "return_air": "return air",
    }


def test_a_truck_with_several_probes_shows_each_in_the_registrys_order() -> None:
    # The rear came last and is listed first: still front before rear, as devices.toml has them.
    view = _view(TWO, 5.1, ProbeLatest("rear", 5.1, T0), ProbeLatest("front", 4.8, T0 - 1))
    assert probe_temps.live_text(view, REGISTRY) == "front 4.8 °C · rear 5.1 °C"
    assert probe_temps.live_text(view, REGISTRY, unit="") == "front 4.8 · rear 5.1"
    other = _view(RETURN_AIR, 3.0, ProbeLatest("return_air", 3.04, T0), ProbeLatest("zz", 1, T0))
    assert probe_temps.live_text(other, REGISTRY) == "return air 3.0 °C · zz 1.0 °C"
    single = _view("KCK 293K", 4.25)
    assert probe_temps.live_text(single, REGISTRY) == "4.2 °C"


def test_fleet_table_map_and_headline_show_every_probe() -> None:
    warm_rear = _view(TWO, 4.8, ProbeLatest("front", 4.8, T0), ProbeLatest("rear", 9.5, T0))
    cool = _view("KCK 293K", 4.0)
    rows = {r["truck"]: r for r in live_data.truck_rows([warm_rear, cool], REGISTRY, "UTC")}
    assert rows[TWO]["temp °C"] == "front 4.8 · rear 9.5"
    assert rows["KCK 293K"]["temp °C"] == "4.0"
    points = {p["truck"]: p for p in map_data.truck_points([warm_rear, cool], REGISTRY)}
    assert points[TWO]["temp"] == "front 4.8 °C · rear 9.5 °C"
    assert points["KCK 293K"]["temp"] == "4.0 °C"
    # The truck's own reading (front, in range) does not hide the rear probe out of range.
    assert not live_data.in_range(warm_rear, REGISTRY)
    assert live_data.in_range(cool, REGISTRY)
    assert live_data.headline([warm_rear, cool], [], REGISTRY).in_range == 1


def test_the_chart_has_one_whole_curve_per_probe() -> None:
    archived = [
        {"t": T0 + 60 * i, "temp": temp, "probe_id": probe}
        for i in range(3)
        for probe, temp in (("front", 4.0 + i), ("rear", 6.0 - i))
    ]
    live = {None: [], "front": [(T0 + 120, 6.0), (T0 + 180, 7.0)], "rear": [(T0 + 180, 3.0)]}
    series = truck_data.probe_series(archived, live)
    assert series == {
        "front": [(T0, 4.0), (T0 + 60, 5.0), (T0 + 120, 6.0), (T0 + 180, 7.0)],
        "rear": [(T0, 6.0), (T0 + 60, 5.0), (T0 + 120, 4.0), (T0 + 180, 3.0)],
    }
    named = probe_temps.by_label({"rear": 1, "front": 2, "extra": 3, None: 4}, REGISTRY, TWO)
    assert list(named) == ["front", "rear", probe_temps.SINGLE, "extra"]
    profile = REGISTRY.profile_for("vaccines")
    rows = truck_data.series_rows(probe_temps.by_label(series, REGISTRY, TWO), profile, "UTC")
    assert [(r["probe"], r["temp"]) for r in rows if r["probe"] == "rear"] == [
        ("rear", 6.0), ("rear", 5.0), ("rear", 4.0), ("rear", 3.0),
    ]  # fmt: skip
    assert len(rows) == 8


def test_a_single_probe_truck_has_one_curve_as_before() -> None:
    archived = [{"t": T0, "temp": 4.0, "probe_id": None}, {"t": T0 + 60, "temp": 4.5}]
    series = truck_data.probe_series(archived, {None: [(T0 + 60, 4.6), (T0 + 120, 4.7)]})
    assert series == {None: [(T0, 4.0), (T0 + 60, 4.6), (T0 + 120, 4.7)]}


def test_a_point_in_the_archive_and_in_redis_is_drawn_once() -> None:
    # PostgreSQL keeps microseconds: the archived time is the live one rounded.
    live_t = T0 + 0.123456789
    merged = truck_data.merge_series([(round(live_t, 6), 4.0)], [(live_t, 4.0), (T0 + 60, 4.1)])
    assert merged == [(round(live_t, 6), 4.0), (T0 + 60, 4.1)]
