"""lot_rejected from the truck's latest shipment record: raised once per set of rejected lots,
renewed when another lot is rejected, resolved when the truck's next shipment starts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from importlib import resources

import pytest

from logistream.events import Alert, Reading
from logistream.registry import Registry, load_registry
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.pod import ProofOfDelivery
from logistream.shipments.wire import ShipmentRecord
from logistream.speed.alerts import Where, apply_verdicts
from logistream.speed.rules import rejection

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="module")
def record(registry: Registry) -> ShipmentRecord:
    example = resources.files("logistream.shipments") / "examples" / "vaccines_kisumu.toml"
    with resources.as_file(example) as path:
        shipment = load_shipment_file(path, registry)
    return ShipmentRecord(shipment, "active", 3, datetime(2026, 12, 8, tzinfo=UTC))


def pod(lot: str, decision: str, hour: int, note: str = "") -> ProofOfDelivery:
    return ProofOfDelivery(
        stop_index=1,
        lot=lot,
        decision=decision,  # type: ignore[arg-type]
        by="otieno",
        name="Grace Otieno",
        at=datetime(2026, 12, 8, hour, 0, tzinfo=UTC),
        note=note,
    )


def apply(
    alerts: dict[str, Alert], verdicts: tuple[object, ...]
) -> tuple[dict[str, Alert], list[Alert]]:
    last = Reading(truck_id="KCB 781C", temp=5.0, timestamp=NOW, cargo="vaccines")
    return apply_verdicts(alerts, verdicts, Where(last), {"lot_rejected": "major"})  # type: ignore[arg-type]


def test_no_rejection_no_alert(record: ShipmentRecord) -> None:
    accepted = dataclasses.replace(record, pods=(pod("MR-2611", "accepted", 10),))
    assert rejection.step(accepted, None, NOW) == ()


def test_a_rejection_raises_one_alert_naming_lot_stop_signer_and_shipper(
    record: ShipmentRecord,
) -> None:
    rejected = dataclasses.replace(
        record,
        pods=(pod("MR-2611", "accepted", 10), pod("DIL-0907", "rejected", 10, "cartons wet")),
    )
    alerts, made = apply({}, rejection.step(rejected, None, NOW))
    assert [(a.rule, a.state, a.severity) for a in made] == [("lot_rejected", "open", "major")]
    message = made[0].message
    for part in (
        "DIL-0907",
        "KEMSA/EPI/2026/118",
        "Kisumu regional vaccine depot",
        "Grace Otieno",
        "cartons wet",
        "Kenya Medical Supplies Authority",
    ):
        assert part in message
    assert made[0].opened_at == datetime(2026, 12, 8, 10, 0, tzinfo=UTC).timestamp()
    # The same record again (a replay, a restart): nothing new.
    assert rejection.step(rejected, alerts["lot_rejected"], NOW) == ()


def test_a_further_rejection_renews_the_alert_naming_both_lots(record: ShipmentRecord) -> None:
    one = dataclasses.replace(record, pods=(pod("MR-2611", "rejected", 10),))
    alerts, _ = apply({}, rejection.step(one, None, NOW))
    two = dataclasses.replace(one, pods=(*one.pods, pod("MR-2612", "rejected", 11)))
    alerts, made = apply(alerts, rejection.step(two, alerts["lot_rejected"], NOW))
    assert [a.state for a in made] == ["resolved", "open"]
    assert "MR-2611, MR-2612" in made[1].message


def test_the_trucks_next_shipment_resolves_it(record: ShipmentRecord) -> None:
    one = dataclasses.replace(record, pods=(pod("MR-2611", "rejected", 10),))
    alerts, _ = apply({}, rejection.step(one, None, NOW))
    following = dataclasses.replace(
        record, shipment=dataclasses.replace(record.shipment, shipment_id="SHP-2026-0119")
    )
    alerts, made = apply(alerts, rejection.step(following, alerts["lot_rejected"], NOW))
    assert [a.state for a in made] == ["resolved"]
    assert alerts == {}
