"""A truck's operating mode as it travels on the compacted ``truck_modes`` topic (key = truck id).

The newest record per truck is its current mode: a reader keeps, per truck, the record with the
highest ``version`` of the newest ``mode_id`` (the store bumps ``version`` at each change of a
mode: ended early by hand). Only approved modes go on the topic: a mode waiting for a second
person's approval is not a mode yet. Encoded as msgspec JSON (UTF-8)::

    {"mode_id": "m-...", "truck_id": "TRK-001", "kind": "washout", "reason": "after fish",
     "starts_at": 1796752800.0, "ends_at": 1796760000.0, "ended_at": null,
     "set_by": "cli:ann", "approved_by": null, "version": 1}

Pure: no Kafka, no database; the store and the publisher write it, the speed layer reads it.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import msgspec

ModeKind = Literal["precooling", "maintenance", "washout"]
MODE_KINDS: Final = ("precooling", "maintenance", "washout")


class ModeRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One operating mode of a truck, as on the compacted topic `truck_modes` (key = truck_id;
    the newest record per truck is its current mode)."""

    mode_id: str
    truck_id: str
    kind: ModeKind
    reason: str
    starts_at: float
    """Epoch seconds (UTC)."""
    ends_at: float
    """The end time set with it: the mode ends by itself then."""
    ended_at: float | None = None
    """Ended early by hand (None: runs to ``ends_at``)."""
    set_by: str
    approved_by: str | None = None
    version: int = 1

    def active_at(self, t: float) -> bool:
        """``starts_at <= t < min(ends_at, ended_at or inf)``."""
        end = min(self.ends_at, self.ended_at if self.ended_at is not None else math.inf)
        return self.starts_at <= t < end


_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(ModeRecord)


def encode_record(r: ModeRecord) -> bytes:
    return _ENCODER.encode(r)


def decode_record(raw: bytes) -> ModeRecord:
    """Raises ``msgspec.ValidationError`` (a ``msgspec.DecodeError``) on a malformed record."""
    return _DECODER.decode(raw)
