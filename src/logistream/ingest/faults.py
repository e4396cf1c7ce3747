"""Faults at run time: a scenario's events turned into per-truck state, and malformed messages.

A :class:`Fault` waits for its trigger (a time, a distance on the first trip, or arrival at the
place where the truck pulled over), is active for its length, then is done. The simulator asks
each active fault what it changes; the malformed-message builders turn a good reading into the
raw bytes of one broken message, deterministically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import msgspec

from logistream.events import Reading, encode
from logistream.registry.scenarios import FaultEvent

PENDING: Final = 0
PARKING: Final = 1
"""Waiting for the truck to stop where it pulled over."""
ACTIVE: Final = 2
DONE: Final = 3

FUTURE_OFFSET_S: Final = 10 * 365.25 * 86400.0
"""A "from the future" reading is dated ten years after its simulated time: after any clock."""
OVERSIZED_BYTES: Final = 70 * 1024
"""Above the contract's 64 KB, well under the broker's 1 MB."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message that is not a valid reading, sent as raw bytes (``key`` None: keyless)."""

    key: bytes | None
    value: bytes
    variant: str


class Fault:
    """One scenario event on one truck, with its trigger resolved against the truck's route."""

    __slots__ = ("event", "kind", "km_trigger", "park_s", "state", "t_off", "t_on", "t_trigger")

    def __init__(self, event: FaultEvent, start: float, km_trigger: float | None) -> None:
        self.event = event
        self.kind = event.kind
        self.park_s = event.park_min * 60.0
        self.t_trigger = start + event.at_min * 60.0 if event.at_min is not None else math.inf
        self.km_trigger = km_trigger
        self.state = PENDING
        self.t_on = math.inf
        self.t_off = math.inf

    def activate(self, t: float) -> None:
        self.state = ACTIVE
        self.t_on = t
        self.t_off = t + self.event.for_s if self.event.for_s > 0 else math.inf

    def parked(self, t: float) -> None:
        """The truck has stopped where this fault made it pull over."""
        self.activate(t + self.event.after_min * 60.0)

    def active_at(self, t: float) -> bool:
        return self.state == ACTIVE and self.t_on <= t < self.t_off


_to_dict: Final = msgspec.to_builtins
_json: Final = msgspec.json.Encoder()


def malformed(variant: str, reading: Reading, key: bytes) -> RawMessage:
    """The broken message of ``variant``, made from a good reading (same bytes on every run)."""
    if variant == "truncated_json":
        raw = encode(reading)
        return RawMessage(key, raw[: len(raw) // 2], variant)
    fields = _to_dict(reading)
    if variant == "wrong_types":
        fields["temp"] = f"{reading.temp} C"
        fields["fuel"] = "full"
        return RawMessage(key, _json.encode(fields), variant)
    if variant == "nan":
        # JSON has no NaN; a buggy device writes it anyway.
        fields["temp"] = "__nan__"
        return RawMessage(key, _json.encode(fields).replace(b'"__nan__"', b"NaN"), variant)
    if variant == "missing_truck_id":
        del fields["truck_id"]
        return RawMessage(None, _json.encode(fields), variant)
    if variant == "future_event":
        fields["timestamp"] = round(reading.timestamp + FUTURE_OFFSET_S, 3)
        return RawMessage(key, _json.encode(fields), variant)
    if variant == "oversized":
        fields["firmware_dump"] = "A" * OVERSIZED_BYTES
        return RawMessage(key, _json.encode(fields), variant)
    if variant == "impossible_value":
        fields["lat"] = 200.0
        return RawMessage(key, _json.encode(fields), variant)
    raise ValueError(f"unknown malformed variant {variant!r}")
