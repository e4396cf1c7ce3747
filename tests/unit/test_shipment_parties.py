"""Who may cancel a shipment or set its stage: the carrier or its shipper, never its receiver."""

from logistream.shipments.parties import change_refusal


def test_the_carrier_and_the_shipper_may_change_a_shipment() -> None:
    assert change_refusal(None, "kemsa", "SHP-1") is None  # the carrier's systems
    assert change_refusal("carrier", "kemsa", "SHP-1") is None
    assert change_refusal("kemsa", "kemsa", "SHP-1") is None


def test_the_receiver_is_refused_with_who_may() -> None:
    refusal = change_refusal("moh-western", "kemsa", "SHP-1")
    assert refusal == (
        "moh-western is not the shipper of SHP-1 (kemsa): its shipper or the carrier cancels it "
        "or sets its stage"
    )
