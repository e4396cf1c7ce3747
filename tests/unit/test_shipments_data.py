"""The Shipments pages' pure logic: list rows and status, filters, fences, timeline, ETA rows,
lots, PoD choices, who may do what, an uploaded file, the live map's labels."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import logistream.shipments
from logistream.events import StageEvent
from logistream.live_views.records import ShipmentLive, StopEtaView
from logistream.registry import load_registry
from logistream.serving import shipments_data as sd
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.pod import ProofOfDelivery
from logistream.shipments.store import new_record
from logistream.shipments.wire import ShipmentRecord, to_document

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
AT = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
TZ = "Africa/Nairobi"
# 2026-12-08 13:45 in Nairobi (UTC+3).
ETA = datetime(2026, 12, 8, 10, 45, tzinfo=UTC).timestamp()


def _record(status: str = "active", **changes: object) -> ShipmentRecord:
    return replace(new_record(SHIPMENT, AT), status=status, **changes)  # type: ignore[arg-type]


def _live(stage: str = "in_transit", stop: int = 0, late: bool = False) -> ShipmentLive:
    return ShipmentLive(
        shipment_id=SHIPMENT.shipment_id,
        truck_id=SHIPMENT.truck_id,
        stage=stage,
        stop=stop,
        since=AT.timestamp(),
        updated_at=AT.timestamp(),
        etas=(StopEtaView(2, ETA + 7200, 90.0, False), StopEtaView(1, ETA, 42.44, late)),
        arrival_forecast="at this rate the vaccines reach 8.0 °C 40 min before Kisumu",
    )


def test_the_list_row_names_stage_next_stop_eta_and_status() -> None:
    live = {SHIPMENT.shipment_id: _live(stage="at_origin", stop=0)}
    (row,) = sd.list_rows([_record()], live, set(), TZ)
    assert row == {
        "reference": "KEMSA/EPI/2026/118",
        "shipment": "SHP-2026-0118",
        "shipper → receiver": "Kenya Medical Supplies Authority, central vaccine store → "
        "Ministry of Health, western region vaccine depots",
        "truck": "KCB 781C",
        "stage": "at origin (loading) · Nairobi central vaccine store",
        "next stop": "Kisumu regional vaccine depot",
        "ETA": "08 Dec 13:45:00",
        "status": "on time",
    }


def test_a_shipment_the_speed_layer_does_not_track_shows_no_stage_nor_eta() -> None:
    (row,) = sd.list_rows([_record()], {}, set(), TZ)
    assert (row["stage"], row["next stop"], row["ETA"], row["status"]) == ("—", "—", "—", "on time")


@pytest.mark.parametrize(
    ("status", "live", "alerts", "expected"),
    [
        ("delivered", _live(late=True), {"KCB 781C"}, "delivered"),
        ("cancelled", None, set(), "cancelled"),
        ("active", _live(stage="delivered"), set(), "delivered"),
        ("active", _live(late=True), {"KCB 781C"}, "late"),
        ("active", _live(), {"KCB 781C"}, "alert open"),
        ("active", _live(), {"KBX 123A"}, "on time"),
    ],
)
def test_status_end_states_then_late_then_an_open_alert(
    status: str, live: ShipmentLive | None, alerts: set[str], expected: str
) -> None:
    assert sd.status_of(_record(status), live, alerts) == expected


def test_a_status_cell_is_coloured_and_other_cells_are_not() -> None:
    assert sd.status_css("late") == "background-color: #c0392b; color: white"
    assert sd.status_css("on time") == "background-color: #1e8449; color: white"
    assert sd.status_css("KCB 781C") == ""


def test_filters_by_shipper_receiver_and_live_stage() -> None:
    other_shipment = replace(
        SHIPMENT, shipment_id="SHP-2", shipper=replace(SHIPMENT.shipper, name="Other shipper")
    )
    first, second = _record(), replace(_record(), shipment=other_shipment)
    live = {SHIPMENT.shipment_id: _live(stage="in_transit")}
    assert sd.matching([first, second], live) == [first, second]
    assert sd.matching([first, second], live, shippers=["Other shipper"]) == [second]
    # Not tracked by the speed layer: planned.
    assert sd.matching([first, second], live, stages=["planned"]) == [second]
    assert sd.matching([first, second], live, stages=["in_transit"]) == [first]
    assert sd.matching([first, second], live, receivers=["nobody"]) == []


def test_every_stop_fence_is_a_closed_ring_and_a_circle_surrounds_its_centre() -> None:
    fences = sd.fence_polygons(SHIPMENT)
    assert [f["name"] for f in fences] == [s.name for s in SHIPMENT.stops]
    origin = fences[0]["polygon"]
    assert origin[0] == origin[-1]
    assert len(origin) > 8
    lons = [p[0] for p in origin]
    lats = [p[1] for p in origin]
    assert min(lons) < 36.8172 < max(lons)
    assert min(lats) < -1.2864 < max(lats)
    # 300 m is about 0.0027° of latitude.
    assert max(lats) - min(lats) == pytest.approx(2 * 300 / 111_195, rel=0.02)
    # The polygon stop keeps its corners, as [lon, lat].
    assert [34.5586, 0.5655] in fences[3]["polygon"]
    assert fences[0]["position"] == [36.8172, -1.2864]
    view = sd.fence_view(SHIPMENT)
    assert -1.3 < view["latitude"] < 0.6
    assert 34.5 < view["longitude"] < 36.9


def test_the_timeline_is_oldest_first_with_the_override_s_who_and_why() -> None:
    def event(stage: str, stop: int, at: float, cause: str = "geofence") -> StageEvent:
        return StageEvent(
            event_id=f"{stage}{stop}",
            shipment_id=SHIPMENT.shipment_id,
            truck_id=SHIPMENT.truck_id,
            stage=stage,
            stop=stop,
            stop_id=SHIPMENT.stops[stop].stop_id,
            stop_name=SHIPMENT.stops[stop].name,
            at=at,
            previous_stage="planned",
            previous_stop=0,
            cause=cause,  # type: ignore[arg-type]
            by="dan" if cause == "override" else None,
            reason="GPS lost in the yard" if cause == "override" else None,
        )

    t0 = AT.timestamp()
    rows = sd.timeline_rows(
        SHIPMENT, [event("in_transit", 0, t0 + 600), event("at_origin", 0, t0, "override")], TZ
    )
    assert rows == [
        {
            "time": "08 Dec 11:00:00",
            "stage": "at origin (loading) · Nairobi central vaccine store",
            "cause": "override",
            "by": "dan",
            "reason": "GPS lost in the yard",
        },
        {"time": "08 Dec 11:10:00", "stage": "in transit", "cause": "geofence", "by": "",
         "reason": ""},
    ]  # fmt: skip


def test_eta_rows_for_the_stops_ahead_and_the_forecast_on_the_next() -> None:
    rows = sd.eta_rows(SHIPMENT, _live(late=True), TZ)
    assert [r["stop"] for r in rows] == [s.name for s in SHIPMENT.stops]
    assert rows[0]["ETA"] == "—"
    assert rows[0]["late"] == ""
    assert rows[0]["window"] == "08 Dec 06:00:00 – 08 Dec 07:00:00"
    assert (rows[1]["ETA"], rows[1]["km left"], rows[1]["late"]) == (
        "08 Dec 13:45:00",
        42.4,
        "late",
    )
    assert rows[1]["arrival temperature"].startswith("at this rate")
    assert (rows[2]["ETA"], rows[2]["late"], rows[2]["arrival temperature"]) == (
        "08 Dec 15:45:00",
        "on time",
        "",
    )
    assert all(r["ETA"] == "—" for r in sd.eta_rows(SHIPMENT, None, TZ))


def test_lot_rows_carry_pod_release_and_the_latest_report_s_verdict() -> None:
    pod = ProofOfDelivery(1, "MR-2611", "rejected", "wanjiku", "Wanjiku Otieno", AT, "tripped")
    record = _record(pods=(pod,))
    report = {"lots": [{"lot": "MR-2611", "verdict": "fail", "reason": "rejected at delivery"}]}
    rows = {r["lot"]: r for r in sd.lot_rows(record, {"MR-2612": ("quarantined", "ann")}, report)}
    assert rows["MR-2611"]["handed over at"] == "Kisumu regional vaccine depot"
    assert rows["MR-2611"]["proof of delivery"] == "rejected by Wanjiku Otieno"
    assert rows["MR-2611"]["verdict"] == "fail: rejected at delivery"
    assert rows["MR-2611"]["quantity"] == "40 carton"
    assert rows["MR-2612"]["release"] == "quarantined by ann"
    assert rows["MR-2612"]["verdict"] == "no report yet"
    assert rows["MR-2613"]["handed over at"] == "Bungoma county vaccine depot"


def test_pod_choices_are_each_stop_s_unsigned_lots() -> None:
    assert sd.pod_choices(_record()) == {
        "kisumu-depot": ["MR-2611", "DIL-0907"],
        "kakamega-depot": ["MR-2612"],
        "bungoma-depot": ["MR-2613"],
    }
    pod = ProofOfDelivery(1, "MR-2611", "accepted", "wanjiku", "Wanjiku Otieno", AT)
    assert sd.pod_choices(_record(pods=(pod,)))["kisumu-depot"] == ["DIL-0907"]


def test_who_may_dispatch_release_and_sign() -> None:
    assert [sd.can_dispatch(r) for r in ("viewer", "dispatcher", "admin")] == [False, True, True]
    roles = ("viewer", "dispatcher", "admin", "quality_manager")
    assert [sd.can_release(r) for r in roles] == [False, False, True, True]
    assert sd.can_sign("moh-western", SHIPMENT)
    assert not sd.can_sign("kemsa", SHIPMENT)
    assert not sd.can_sign(None, SHIPMENT)


def test_an_uploaded_file_is_read_as_the_cli_reads_it_and_refused_in_one_line() -> None:
    assert sd.parse_upload("v.toml", EXAMPLE.read_bytes(), REGISTRY) == SHIPMENT
    as_json = json.dumps(to_document(SHIPMENT)).encode()
    assert sd.parse_upload("v.json", as_json, REGISTRY) == SHIPMENT
    document = to_document(SHIPMENT)
    document["cargo"] = "plutonium"
    with pytest.raises(ShipmentError) as refused:
        sd.parse_upload("v.json", json.dumps(document).encode(), REGISTRY)
    assert refused.value.field == "cargo"
    assert "\n" not in str(refused.value)
    with pytest.raises(ShipmentError, match=r"^v.toml: is not valid TOML"):
        sd.parse_upload("v.toml", b"shipment_id = ", REGISTRY)
    with pytest.raises(ShipmentError, match=r"ends in \.toml or \.json"):
        sd.parse_upload("v.txt", b"", REGISTRY)
    with pytest.raises(ShipmentError, match="UTF-8"):
        sd.parse_upload("v.toml", b"\xff\xfe", REGISTRY)


def test_the_live_map_labels_each_active_shipment_s_truck_with_its_next_stop() -> None:
    live = {SHIPMENT.shipment_id: _live()}
    assert sd.truck_labels([_record()], live) == {
        "KCB 781C": "KEMSA/EPI/2026/118 · next Kisumu regional vaccine depot"
    }
    assert sd.truck_labels([_record()], {}) == {"KCB 781C": "KEMSA/EPI/2026/118"}
    assert sd.truck_labels([_record("cancelled")], live) == {}


def test_the_live_map_tooltip_names_the_truck_s_shipment_and_the_deck_draws_fences() -> None:
    from logistream.events import Reading
    from logistream.live_views import TruckView
    from logistream.serving import map_data, map_view

    reading = Reading(truck_id="KCB 781C", timestamp=AT.timestamp(), temp=5.0, lat=-1.0, lon=36.0)
    view = TruckView(truck_id="KCB 781C", reading=reading, status="ok", alerts=(), updated_at=0.0)
    labels = {"KCB 781C": "KEMSA/EPI/2026/118 · next Kisumu regional vaccine depot"}
    (point,) = map_data.truck_points([view], REGISTRY, labels)
    assert point["shipment"] == labels["KCB 781C"]
    (bare,) = map_data.truck_points([view], REGISTRY)
    assert bare["shipment"] == "no shipment"
    deck = map_view.kenya_deck([], [point], fences=sd.fence_polygons(SHIPMENT))
    fences = [layer for layer in deck.layers if layer.id in ("geofences", "stops")]
    assert [len(layer.data) for layer in fences] == [4, 4]
    assert "{shipment}" in map_view._TOOLTIP["html"]
