"""The truck_modes record: round trip through bytes, and when a mode is active."""

from __future__ import annotations

import msgspec
import pytest

from logistream.modes.wire import MODE_KINDS, ModeRecord, decode_record, encode_record


def _record(**changes: object) -> ModeRecord:
    base = ModeRecord(
        mode_id="m-1",
        truck_id="TRK-001",
        kind="washout",
        reason="after a fish load",
        starts_at=1000.0,
        ends_at=2000.0,
        set_by="cli:ann",
    )
    return msgspec.structs.replace(base, **changes)


def test_round_trip_keeps_every_field() -> None:
    record = _record(ended_at=1500.0, approved_by="cli:boss", version=2)
    assert decode_record(encode_record(record)) == record
    assert decode_record(encode_record(_record())) == _record()


def test_kinds_are_the_three_of_the_issue() -> None:
    assert MODE_KINDS == ("precooling", "maintenance", "washout")


def test_unknown_kind_is_refused_on_decode() -> None:
    raw = encode_record(_record()).replace(b'"washout"', b'"party"')
    with pytest.raises(msgspec.ValidationError):
        decode_record(raw)


@pytest.mark.parametrize(
    ("t", "ended_at", "active"),
    [
        (999.9, None, False),
        (1000.0, None, True),
        (1999.9, None, True),
        (2000.0, None, False),  # ends by itself at ends_at
        (1499.0, 1500.0, True),
        (1500.0, 1500.0, False),  # ended early by hand
        (1600.0, 2500.0, True),  # an ended_at after ends_at does not extend it
        (2000.0, 2500.0, False),
    ],
)
def test_active_at(t: float, ended_at: float | None, active: bool) -> None:
    assert _record(ended_at=ended_at).active_at(t) is active
