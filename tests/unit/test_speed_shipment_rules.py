"""The speed layer's shipment step through the engine, pure: the example vaccine shipment on
KCB 781C (front and rear probes), Nairobi store → Kisumu → Kakamega → Bungoma.

Loading 06:30 (EAT) on 2026-12-08; the origin's window is 06:00-07:00, Kisumu's 13:00-14:30.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pytest

from logistream.events import Alert, Reading, derive_event_id
from logistream.registry import Registry, load_registry
from logistream.registry.rules import RulesConfig
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.wire import ShipmentRecord, StageOverride
from logistream.speed import engine
from logistream.speed.shipment_step import ShipmentContext
from logistream.speed.state import TruckState

SHIPMENT_RULES = ("not_precooled", "eta_late")
TRUCK = "KCB 781C"
NAIROBI = (-1.2864, 36.8172)
NEAR_NAIROBI = (-1.2, 36.75)
"""On the way out, a few km from the store, inside no fence."""
LOADING = datetime(2026, 12, 8, 3, 30, tzinfo=UTC).timestamp()  # 06:30 EAT


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def record(registry: Registry, version: int = 1, **changes: object) -> ShipmentRecord:
    example = resources.files("logistream.shipments") / "examples" / "vaccines_kisumu.toml"
    with resources.as_file(example) as path:
        shipment = load_shipment_file(path, registry)
    fields: dict[str, object] = {
        "shipment": shipment,
        "status": "active",
        "version": version,
        "updated_at": datetime(2026, 12, 7, tzinfo=UTC),
    }
    fields.update(changes)
    return ShipmentRecord(**fields)  # type: ignore[arg-type]


class Drive:
    """Feeds both probes' readings through the engine, collecting every effect."""

    def __init__(self, registry: Registry, shipment: ShipmentContext) -> None:
        self.contexts = engine.Contexts(registry, RulesConfig())
        self.shipment = shipment
        self.state = TruckState(truck_id=TRUCK)
        self.changes: list[Alert] = []
        self.stages: list[tuple[str, int, float]] = []
        self.live = None

    def at(
        self,
        ts: float,
        where: tuple[float, float],
        temp: float,
        *,
        door: bool = False,
        speed: float = 0.0,
        shipment: ShipmentContext | str | None = "same",
    ) -> None:
        ctx = self.shipment if shipment == "same" else shipment
        for probe in ("front", "rear"):
            reading = Reading(
                truck_id=TRUCK,
                temp=temp,
                timestamp=ts,
                event_id=derive_event_id(TRUCK, ts, probe),
                cargo="vaccines",
                lat=where[0],
                lon=where[1],
                speed_kmh=speed,
                door_open=door,
                probe_id=probe,
            )
            step = engine.process(
                self.state,
                reading,
                0,
                self.contexts.get(TRUCK, "vaccines"),
                shipment=ctx if isinstance(ctx, ShipmentContext) else None,
            )
            self.state = step.state
            self.changes.extend(step.changes)
            self.stages.extend((e.stage, e.stop, e.at) for e in step.stage_events)
            if step.shipment_live is not None:
                self.live = step.shipment_live

    def rules(self, state: str) -> list[str]:
        """The shipment rules' changes to ``state`` (a warm reefer opens temperature alerts
        too: not what these tests are about)."""
        return [c.rule for c in self.changes if c.state == state and c.rule in SHIPMENT_RULES]


def test_loading_before_the_air_was_in_range_for_30_min_raises_not_precooled_once(
    registry: Registry,
) -> None:
    drive = Drive(registry, ShipmentContext.of(record(registry), registry, RulesConfig()))
    start = LOADING - 1_800
    # The reefer was warm until 10 min before loading, then in range.
    for ts in range(int(start), int(LOADING - 600), 60):
        drive.at(ts, NAIROBI, 12.5)
    for ts in range(int(LOADING - 600), int(LOADING), 60):
        drive.at(ts, NAIROBI, 5.0)
    assert drive.stages[:1] == [("at_origin", 0, start)]
    assert "not_precooled" not in drive.rules("open")  # no loading yet: the door is shut
    drive.at(LOADING, NAIROBI, 5.0, door=True)
    opened = [c for c in drive.changes if c.rule == "not_precooled"]
    assert [(c.state, c.severity, c.value, c.threshold) for c in opened] == [
        ("open", "major", 10.0, 30.0)
    ]
    assert "KEMSA/EPI/2026/118" in opened[0].message
    assert "Nairobi central vaccine store" in opened[0].message
    # More door openings while loading: still one alert.
    for ts in range(int(LOADING) + 60, int(LOADING) + 600, 60):
        drive.at(ts, NAIROBI, 6.0, door=True)
    assert drive.rules("open").count("not_precooled") == 1
    # Cold for 30 min since 06:20: resolved.
    for ts in range(int(LOADING) + 600, int(LOADING) + 1_500, 60):
        drive.at(ts, NAIROBI, 5.0)
    assert drive.rules("resolved") == ["not_precooled"]


def test_a_pre_cooled_reefer_loads_without_an_alert(registry: Registry) -> None:
    drive = Drive(registry, ShipmentContext.of(record(registry), registry, RulesConfig()))
    for ts in range(int(LOADING - 2_400), int(LOADING), 60):
        drive.at(ts, NAIROBI, 5.0)
    drive.at(LOADING, NAIROBI, 5.0, door=True)
    assert drive.changes == []


def test_one_warm_probe_is_enough_to_be_not_precooled(registry: Registry) -> None:
    drive = Drive(registry, ShipmentContext.of(record(registry), registry, RulesConfig()))
    contexts = drive.contexts.get(TRUCK, "vaccines")
    for ts in range(int(LOADING - 2_400), int(LOADING), 60):
        drive.at(ts, NAIROBI, 5.0)
    # The rear probe reads 9 °C at the last minute before loading.
    rear = Reading(
        truck_id=TRUCK,
        temp=9.0,
        timestamp=LOADING - 30,
        event_id=derive_event_id(TRUCK, LOADING - 30, "rear"),
        lat=NAIROBI[0],
        lon=NAIROBI[1],
        probe_id="rear",
    )
    drive.state = engine.process(drive.state, rear, 0, contexts, shipment=drive.shipment).state
    drive.at(LOADING, NAIROBI, 5.0, door=True)
    assert drive.rules("open") == ["not_precooled"]


def test_leaving_the_origin_gives_in_transit_and_etas_for_every_stop_ahead(
    registry: Registry,
) -> None:
    drive = Drive(registry, ShipmentContext.of(record(registry), registry, RulesConfig()))
    for ts in range(int(LOADING - 2_400), int(LOADING) + 600, 60):
        drive.at(ts, NAIROBI, 5.0)
    depart = LOADING + 600
    for i in range(5):
        drive.at(depart + 60 * i, NEAR_NAIROBI, 5.0, speed=60.0)
    assert [s[:2] for s in drive.stages] == [("at_origin", 0), ("in_transit", 0)]
    live = drive.live
    assert live is not None
    assert (live.stage, live.stop) == ("in_transit", 0)
    assert [e.stop for e in live.etas] == [1, 2, 3]
    etas = [e.eta for e in live.etas]
    assert etas == sorted(etas)
    # About 330 km to Kisumu at 60 km/h: arrival roughly 5 h 30 min later (13:00-13:30 EAT),
    # inside Kisumu's window, so not late.
    assert 4.5 * 3600 < live.etas[0].eta - (depart + 240) < 7 * 3600
    assert not live.etas[0].late
    assert "eta_late" not in drive.rules("open")


def test_a_truck_leaving_hours_late_raises_eta_late_and_arrival_resolves_it(
    registry: Registry,
) -> None:
    drive = Drive(registry, ShipmentContext.of(record(registry), registry, RulesConfig()))
    late = LOADING + 5 * 3600  # leaves at 11:30 EAT: Kisumu's window closes 14:30
    for ts in range(int(late - 2_400), int(late), 60):
        drive.at(ts, NAIROBI, 5.0)
    for i in range(5):
        drive.at(late + 60 * i, NEAR_NAIROBI, 5.0, speed=60.0)
    opened = [c for c in drive.changes if c.rule == "eta_late" and c.state == "open"]
    # Late at the store already (its window closed at 07:00), then late for Kisumu.
    assert ["Nairobi central" in opened[0].message, "Kisumu regional" in opened[1].message] == [
        True,
        True,
    ]
    assert opened[1].severity == "minor"
    assert opened[1].value is not None
    assert opened[1].value > 60
    assert drive.live is not None
    assert drive.live.etas[0].late
    # It arrives at Kisumu (the fence's centre) and stays for the dwell: resolved.
    kisumu = (-0.0917, 34.7680)
    for i in range(4):
        drive.at(late + 6 * 3600 + 60 * i, kisumu, 5.0)
    assert ("at_stop", 1) in [s[:2] for s in drive.stages]
    assert "eta_late" in drive.rules("resolved")


def test_a_cancelled_shipment_resolves_its_alerts_and_leaves_the_state(registry: Registry) -> None:
    drive = Drive(registry, ShipmentContext.of(record(registry), registry, RulesConfig()))
    for ts in range(int(LOADING - 300), int(LOADING), 60):
        drive.at(ts, NAIROBI, 12.5)
    drive.at(LOADING, NAIROBI, 5.0, door=True)
    assert drive.rules("open") == ["not_precooled"]
    drive.at(LOADING + 60, NAIROBI, 5.0, shipment=None)
    assert drive.rules("resolved") == ["not_precooled"]
    assert drive.state.shipment is None


def test_a_dispatchers_override_applies_once_and_names_who_set_it(registry: Registry) -> None:
    override = StageOverride(
        stage="at_stop",
        stop_index=1,
        by="amina",
        at=datetime(2026, 12, 8, 10, 0, tzinfo=UTC),
        reason="GPS lost in Kisumu; the driver phoned in",
    )
    ctx = ShipmentContext.of(record(registry, 2, override=override), registry, RulesConfig())
    drive = Drive(registry, ctx)
    drive.at(LOADING, NEAR_NAIROBI, 5.0)
    drive.at(LOADING + 60, NEAR_NAIROBI, 5.0)
    assert drive.stages == [("at_stop", 1, override.at.timestamp())]


def test_readings_naming_no_probe_are_judged_when_the_assigned_probes_never_report(
    registry: Registry,
) -> None:
    # The simulator straight to Kafka sends no probe_id, though devices.toml names the probes.
    ctx = ShipmentContext.of(record(registry), registry, RulesConfig())
    contexts = engine.Contexts(registry, RulesConfig())
    state = TruckState(truck_id=TRUCK)
    changes: list[Alert] = []
    for ts in range(int(LOADING - 2_400), int(LOADING) + 60, 60):
        reading = Reading(
            truck_id=TRUCK,
            temp=5.0,
            timestamp=ts,
            event_id=derive_event_id(TRUCK, ts),
            lat=NAIROBI[0],
            lon=NAIROBI[1],
            door_open=ts >= LOADING,
        )
        step = engine.process(state, reading, 0, contexts.get(TRUCK, "vaccines"), shipment=ctx)
        state = step.state
        changes.extend(step.changes)
    assert [c.rule for c in changes if c.rule in SHIPMENT_RULES] == []
    assert state.shipment is not None
    assert state.shipment.loaded
