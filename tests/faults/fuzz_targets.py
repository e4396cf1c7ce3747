"""What the fuzzers call: the decoder and the rules engine, with the only error they may raise.

Shared by the hypothesis tests (test_fault_fuzz.py) and the atheris run (atheris_fuzz.py). A
target returns normally or raises :class:`InvalidReading`; anything else is a bug.
"""

from __future__ import annotations

import json
import math
from typing import Any

from logistream.errors import InvalidReading
from logistream.events import (
    REASON_CODES,
    AlertCommand,
    Reading,
    decode_reading,
    decode_reading_with_extras,
)
from logistream.registry import load_registry
from logistream.registry.rules import load_rules_config
from logistream.speed import engine
from logistream.speed.state import TruckState, dump_state, load_state

REGISTRY = load_registry()
CONTEXTS = engine.Contexts(REGISTRY, load_rules_config())
RECORD_TS_MS = 1_767_225_600_000  # 2026-01-01: a fixed produce time, so runs replay
FIELDS = (
    "truck_id", "temp", "timestamp", "fuel", "event_id", "seq", "trip_id", "driver_id", "cargo",
    "lat", "lon", "speed_kmh", "heading_deg", "humidity", "door_open", "reefer_on", "defrost",
)  # fmt: skip


def _decode(decoder: Any, raw: bytes) -> tuple[Reading | None, InvalidReading | None]:
    try:
        result = decoder(raw, record_ts_ms=RECORD_TS_MS)
    except InvalidReading as error:
        return None, error
    return (result[0] if isinstance(result, tuple) else result), None


def decode_both(raw: bytes) -> Reading | None:
    """Both decoders on ``raw``: they must agree on valid or invalid, and on the reading."""
    plain, error = _decode(decode_reading, raw)
    extra, extra_error = _decode(decode_reading_with_extras, raw)
    for refusal in (error, extra_error):
        if refusal is not None:
            assert refusal.code in REASON_CODES, refusal.code
            assert refusal.message
    assert (error is None) == (extra_error is None), f"decoders disagree on {raw!r}"
    assert plain == extra
    return plain


def run_engine(messages: list[bytes]) -> None:
    """Decode each message; feed the valid ones to the rules as one stream per truck."""
    states: dict[str, TruckState] = {}
    for raw in messages:
        reading = decode_both(raw)
        if reading is None:
            continue
        ctx = CONTEXTS.get(reading.truck_id, reading.cargo)
        state = states.get(reading.truck_id) or engine.new_state(reading.truck_id)
        step = engine.process(state, reading, 0, ctx)
        states[reading.truck_id] = step.state
        for change in step.changes:
            assert change.truck_id == reading.truck_id
            assert math.isfinite(change.opened_at)
        # The silence rule on a watermark far ahead, and an acknowledgement of each open alert.
        late = engine.on_watermark(step.state, reading.timestamp + 3 * 3600, ctx)
        for alert in list(late.state.alerts.values()):
            command = AlertCommand(action="ack", alert_id=alert.alert_id,
                                   truck_id=alert.truck_id, by="fuzz")  # fmt: skip
            engine.acknowledge(late.state, command)
        # A checkpoint round trip gives the same state.
        assert load_state(dump_state(step.state)) == step.state


def reading_json(values: Any) -> bytes:
    """JSON bytes as a careless device would write them (NaN and Infinity included)."""
    return json.dumps(values, allow_nan=True).encode()
