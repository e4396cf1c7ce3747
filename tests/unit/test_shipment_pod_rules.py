"""Proof of delivery, pure: who may sign for which lot where, once; refusals name the field;
delivered when every lot is signed for; the PoDs on the record round-trip and a record without
them still decodes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import logistream.shipments
from logistream.registry import load_registry
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.pod import (
    PodRequest,
    ProofOfDelivery,
    Signatory,
    all_signed,
    check_pod,
    handover_stop,
    summary_document,
)
from logistream.shipments.verdict import LotFigures
from logistream.shipments.wire import ShipmentRecord, decode_record, encode_record

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)  # receiver moh-western; lots at stops 1, 2, 3
AT = datetime(2026, 12, 8, 11, 2, tzinfo=UTC)
RECEIVER = Signatory("wanjiku", "moh-western")
KISUMU = PodRequest("kisumu-depot", "MR-2611", "rejected", "Wanjiku  Otieno", AT, " tripped ")


def test_a_receiver_signs_for_a_lot_at_its_drop() -> None:
    pod = check_pod(SHIPMENT, "active", (), KISUMU, RECEIVER)
    assert pod == ProofOfDelivery(
        1, "MR-2611", "rejected", "wanjiku", "Wanjiku Otieno", AT, "tripped"
    )


def test_a_lot_no_stop_names_is_handed_over_at_the_destination() -> None:
    stops = (*SHIPMENT.stops[:3], replace(SHIPMENT.stops[3], drops=()))
    shipment = replace(SHIPMENT, stops=stops)
    assert handover_stop(shipment, "MR-2613") == 3
    assert handover_stop(SHIPMENT, "MR-2612") == 2
    request = replace(KISUMU, stop_id="bungoma-depot", lot="MR-2613", decision="accepted")
    assert check_pod(shipment, "active", (), request, RECEIVER).stop_index == 3


REFUSED: list[tuple[str, str, PodRequest, Signatory, str]] = [
    ("cancelled", "cancelled", KISUMU, RECEIVER, "status: shipment 'SHP-2026-0118' is cancelled"),
    ("delivered", "delivered", KISUMU, RECEIVER, "status: "),
    (
        "operator's staff",
        "active",
        KISUMU,
        Signatory("ann", None),
        "organisation: 'ann' belongs to the fleet operator's staff, not the receiver 'moh-western'",
    ),
    (
        "the shipper",
        "active",
        KISUMU,
        Signatory("kem", "kemsa"),
        "organisation: 'kem' belongs to organisation 'kemsa', not the receiver 'moh-western'",
    ),
    (
        "unknown stop",
        "active",
        replace(KISUMU, stop_id="mombasa"),
        RECEIVER,
        "stop_id: no stop 'mombasa' on shipment 'SHP-2026-0118'; its stops: nairobi-central",
    ),
    (
        "unknown lot",
        "active",
        replace(KISUMU, lot="XX-1"),
        RECEIVER,
        "lot: no lot 'XX-1' on shipment 'SHP-2026-0118'; its lots: MR-2611",
    ),
    (
        "lot of another stop",
        "active",
        replace(KISUMU, lot="MR-2612"),
        RECEIVER,
        "lot: lot 'MR-2612' is not dropped at 'kisumu-depot' but at 'kakamega-depot'",
    ),
    (
        "the origin",
        "active",
        replace(KISUMU, stop_id="nairobi-central"),
        RECEIVER,
        "lot: lot 'MR-2611' is not dropped at 'nairobi-central' but at 'kisumu-depot'",
    ),
    ("decision", "active", replace(KISUMU, decision="maybe"), RECEIVER, "decision: 'maybe'"),
    ("blank name", "active", replace(KISUMU, name="  "), RECEIVER, "name: give the printed"),
    ("long note", "active", replace(KISUMU, note="x" * 2001), RECEIVER, "note: 2001 characters"),
    ("naive time", "active", replace(KISUMU, at=AT.replace(tzinfo=None)), RECEIVER, "at: has no"),
    ("no name recorded", "active", KISUMU, Signatory(" ", "moh-western"), "by: give the user"),
]


@pytest.mark.parametrize(
    ("status", "request_", "signatory", "expected"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_refusals_name_the_field_and_the_fix_in_one_line(
    status: str, request_: PodRequest, signatory: Signatory, expected: str
) -> None:
    with pytest.raises(ShipmentError) as caught:
        check_pod(SHIPMENT, status, (), request_, signatory)
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_an_outsider_is_refused_before_anything_about_the_lots_is_said() -> None:
    with pytest.raises(ShipmentError, match=r"^organisation: "):
        check_pod(SHIPMENT, "active", (), replace(KISUMU, lot="XX-1"), Signatory("x", "other"))


def test_a_lot_is_signed_for_once() -> None:
    first = check_pod(SHIPMENT, "active", (), replace(KISUMU, decision="accepted"), RECEIVER)
    with pytest.raises(ShipmentError) as caught:
        check_pod(SHIPMENT, "active", (first,), KISUMU, Signatory("otieno", "moh-western"))
    assert str(caught.value).startswith(
        "lot: lot 'MR-2611' was already accepted by wanjiku at 2026-12-08T11:02:00+00:00; "
        "a lot is signed for once"
    )
    # Another lot of the same stop is still open.
    other = check_pod(SHIPMENT, "active", (first,), replace(KISUMU, lot="DIL-0907"), RECEIVER)
    assert other.stop_index == 1


def _pod(stop: int, lot: str, decision: str = "accepted") -> ProofOfDelivery:
    return ProofOfDelivery(stop, lot, decision, "wanjiku", "Wanjiku Otieno", AT)  # type: ignore[arg-type]


def test_delivered_when_every_lot_is_signed_for_rejected_ones_included() -> None:
    pods = [_pod(1, "MR-2611", "rejected"), _pod(1, "DIL-0907"), _pod(2, "MR-2612")]
    assert not all_signed(SHIPMENT, pods)
    assert all_signed(SHIPMENT, [*pods, _pod(3, "MR-2613")])


def test_the_pods_ride_on_the_record_and_round_trip() -> None:
    pods = (_pod(1, "DIL-0907"), _pod(1, "MR-2611", "rejected"))
    record = ShipmentRecord(SHIPMENT, "active", 3, AT + timedelta(minutes=1), pods=pods)
    raw = encode_record(record)
    assert decode_record(raw, REGISTRY) == record
    sent = json.loads(raw)["pods"]
    assert [(p["lot"], p["decision"], p["stop_index"]) for p in sent] == [
        ("DIL-0907", "accepted", 1),
        ("MR-2611", "rejected", 1),
    ]


def test_a_record_without_pods_decodes_with_none() -> None:
    document = json.loads(encode_record(ShipmentRecord(SHIPMENT, "active", 1, AT)))
    del document["pods"]
    assert decode_record(json.dumps(document).encode(), REGISTRY).pods == ()


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        ("no", "record.pods: must be a list"),
        ([{"lot": "MR-2611"}], "record.pods[0].stop_index: missing"),
        ([dict(json.loads(encode_record(
            ShipmentRecord(SHIPMENT, "active", 2, AT, pods=(_pod(1, "MR-2611"),))
        ))["pods"][0], stop_index=2)], "record.pods[0].stop_index: 2 is not where lot 'MR-2611'"),
        ([dict(json.loads(encode_record(
            ShipmentRecord(SHIPMENT, "active", 2, AT, pods=(_pod(1, "MR-2611"),))
        ))["pods"][0], decision="lost")], "record.pods[0].decision: 'lost'"),
    ],
)  # fmt: skip
def test_bad_pods_on_a_record_are_refused_with_their_path(pods: object, expected: str) -> None:
    document = json.loads(encode_record(ShipmentRecord(SHIPMENT, "active", 1, AT)))
    document["pods"] = pods
    with pytest.raises(ShipmentError) as caught:
        decode_record(json.dumps(document).encode(), REGISTRY)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_two_pods_for_one_lot_on_a_record_are_refused() -> None:
    record = ShipmentRecord(SHIPMENT, "active", 3, AT, pods=(_pod(1, "MR-2611"),) * 2)
    with pytest.raises(ShipmentError, match=r"^record.pods\[1\].lot: 'MR-2611' has two PoDs"):
        decode_record(encode_record(record), REGISTRY)


def test_the_temperature_summary_keeps_the_figures_a_receiver_signs_on() -> None:
    figures = LotFigures(
        lot="MR-2611", probes=("P1",), min_c=2.5, max_c=9.1, mkt_c=5.2, tor_min=14.0,
        tor_budget_min=60.0, excursions=1, longest_excursion_min=14.0, sensor_fault_min=0.0,
        coverage=0.98, carriage_min=300.0, rejected_at_pod=False, readings=150,
    )  # fmt: skip
    summary = summary_document(figures)
    assert json.loads(json.dumps(summary)) == summary
    assert (summary["min_c"], summary["max_c"], summary["mkt_c"]) == (2.5, 9.1, 5.2)
    assert (summary["tor_min"], summary["excursions"], summary["readings"]) == (14.0, 1, 150)
