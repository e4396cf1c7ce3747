"""HTTP ingest, the pure part: split a body into readings and validate each one exactly as the
speed layer and the bridge will (``events.decode_reading``, same reason codes).

A batch is all-or-nothing: one invalid reading refuses the whole request, nothing is produced,
and the answer lists every bad reading with its field and why. Sending the corrected batch
again is safe: a reading's ``event_id`` (sent, or derived from truck and time) makes the
archive keep it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgspec

from logistream.errors import InvalidReading, Refused
from logistream.events import (
    REASON_INVALID_JSON,
    REASON_NOT_AN_OBJECT,
    Reading,
    decode_reading,
    json_problem,
)

_raw_list: Final = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int | None
    """Position in the batch (None: the body itself, or a single reading)."""
    reason: str
    """The DLQ reason code (``events.REASON_CODES``)."""
    field: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Accepted:
    reading: Reading
    raw: bytes
    """The reading's bytes as sent: produced unchanged, so unknown fields reach the archive."""


class BodyRefused(Refused):
    """The body is not one reading or a JSON array of them."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.reason, rejection.detail, field=rejection.field)
        self.rejection = rejection


def split_body(body: bytes, max_batch: int) -> tuple[list[bytes], bool]:
    """The readings' raw bytes and whether the body was a batch (a JSON array)."""
    stripped = body.lstrip()
    if not stripped.startswith(b"["):
        return [body], False
    try:
        items = _raw_list.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise BodyRefused(
            Rejection(
                None,
                REASON_INVALID_JSON,
                None,
                f"The body is {json_problem(error)}; send one reading object or an array of "
                "them, UTF-8 encoded.",
            )
        ) from None
    if not items:
        raise BodyRefused(
            Rejection(
                None, REASON_NOT_AN_OBJECT, None, "The batch is empty; send 1 or more readings."
            )
        )
    if len(items) > max_batch:
        raise BodyRefused(
            Rejection(
                None,
                "too_many",
                None,
                f"The batch has {len(items)} readings, above the limit of {max_batch}; split it.",
            )
        )
    return [bytes(item) for item in items], True


def validate(
    raws: list[bytes],
    *,
    batch: bool,
    now_ms: int,
    max_bytes: int,
    future_tolerance_s: float,
) -> tuple[list[Accepted], list[Rejection]]:
    """Decode every reading; ``now_ms`` stands for the Kafka record time it will be given."""
    accepted: list[Accepted] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raws):
        try:
            reading = decode_reading(
                raw,
                record_ts_ms=now_ms,
                max_bytes=max_bytes,
                future_tolerance_s=future_tolerance_s,
            )
        except InvalidReading as error:
            rejected.append(
                Rejection(index if batch else None, error.code, error.field, error.message)
            )
            continue
        accepted.append(Accepted(reading, raw))
    return accepted, rejected


def summary(rejected: list[Rejection], total: int) -> str:
    first = rejected[0]
    where = f"reading {first.index}" if first.index is not None else "the reading"
    field = f", field '{first.field}'" if first.field else ""
    if total == 1:
        return f"The reading breaks the contract ({first.reason}{field}): {first.detail}"
    return (
        f"{len(rejected)} of {total} readings break the contract, so none was accepted; the "
        f"first is {where} ({first.reason}{field}): {first.detail} Fix them and send the batch "
        "again (resending accepted readings is safe: the archive keeps each event_id once)."
    )
