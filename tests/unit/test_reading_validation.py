"""One validation of a reading: the speed layer's decode and the bridge's agree on every message.

Generated readings, valid and broken in each way the contract names (a missing, mistyped or
impossible field, an event time from the future, a message too large, not JSON, not an object,
text the archive cannot store), go through both decoders: each is accepted by both, with the
same reading, or refused by both with the same reason code and the same field to blame.
Hypothesis runs derandomized (a fixed seed), so a failure replays.
"""

from __future__ import annotations

import json
from typing import Any, Final

from hypothesis import example, given, settings
from hypothesis import strategies as st

from logistream import events
from logistream.batch.records import READING_COLUMNS, Consumed, Rejection, decode_telemetry
from logistream.errors import InvalidReading

PRODUCED_MS: Final = 1_767_225_600_000
MAX_BYTES: Final = 4096  # small, so "too large" is cheap to generate
TOLERANCE_S: Final = 300.0

FINITE = st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
# Each contract field: values inside its range, and values that break it.
GOOD: Final[dict[str, st.SearchStrategy[Any]]] = {
    "truck_id": st.text(min_size=1, max_size=64).filter(lambda s: "\x00" not in s),
    "temp": st.floats(-80, 100),
    "timestamp": st.floats(946_684_800, PRODUCED_MS / 1000 + TOLERANCE_S),
    "fuel": st.floats(0, 100),
    "event_id": TEXT.filter(lambda s: "\x00" not in s),
    "seq": st.integers(0, 2**63 - 1),
    "trip_id": TEXT.filter(lambda s: "\x00" not in s),
    "cargo": st.sampled_from(["vaccines", "milk", "flowers", "frozen"]),
    "lat": st.floats(-90, 90),
    "lon": st.floats(-180, 180),
    "speed_kmh": st.floats(0, 250),
    "heading_deg": st.floats(0, 360),
    "humidity": st.floats(0, 100),
    "door_open": st.booleans(),
}
NUMBERS: Final = ("temp", "timestamp", "fuel", "lat", "lon", "speed_kmh", "heading_deg",
                  "humidity")  # fmt: skip
BAD: Final[dict[str, st.SearchStrategy[Any]]] = {
    "truck_id": st.sampled_from(["", "x" * 65, 7, None, ["K"], "K\x00"]),
    "temp": st.one_of(
        FINITE.filter(lambda v: not -80 <= v <= 100),
        st.just("hot"),
        st.just(True),
        st.just(float("nan")),
    ),
    "timestamp": st.one_of(
        st.floats(0, 946_684_799),
        st.just("2026-01-01"),
        st.floats(PRODUCED_MS / 1000 + TOLERANCE_S + 1, 1e12),
    ),
    "fuel": st.one_of(st.floats(100.001, 1e9), st.floats(-1e9, -0.001), st.just(float("inf"))),
    "seq": st.one_of(st.integers(max_value=-1), st.integers(2**63, 2**70), st.just(1.5)),
    "lat": st.one_of(st.floats(90.001, 1e6), st.just("north")),
    "lon": st.floats(-1e6, -180.001),
    "speed_kmh": st.floats(250.001, 1e6),
    "heading_deg": st.floats(360.001, 1e6),
    "humidity": st.floats(-1e3, -0.001),
    "door_open": st.sampled_from(["yes", 1]),
    "event_id": st.sampled_from(["e" * 129, "e\x00", 12]),
    "trip_id": st.sampled_from(["t" * 129, "\x00"]),
}


@st.composite
def messages(draw: st.DrawFn) -> bytes | None:
    """One message value: a reading, valid or broken in one (sometimes two) ways."""
    body: dict[str, Any] = {"truck_id": draw(GOOD["truck_id"]), "temp": draw(GOOD["temp"]),
                            "timestamp": draw(GOOD["timestamp"])}  # fmt: skip
    for name in draw(st.lists(st.sampled_from(sorted(GOOD)), max_size=5, unique=True)):
        body[name] = draw(GOOD[name])
    if draw(st.booleans()):  # unknown fields are kept, never refused
        body[draw(st.sampled_from(["firmware", "note", "x"]))] = draw(
            st.one_of(
                TEXT, FINITE, st.integers(-(2**80), 2**80), st.lists(st.integers(), max_size=3)
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        way = draw(st.sampled_from(["field", "missing", "nul_extra", "shape"]))
        if way == "field":
            name = draw(st.sampled_from(sorted(BAD)))
            body[name] = draw(BAD[name])
        elif way == "missing":
            body.pop(draw(st.sampled_from(["truck_id", "temp", "timestamp"])), None)
        elif way == "nul_extra":
            body[draw(st.sampled_from(["note", "k\x00"]))] = draw(st.sampled_from(["a\x00b", 1]))
        else:
            return draw(shapes(body))
    return json.dumps(body).encode()


@st.composite
def shapes(draw: st.DrawFn, body: dict[str, Any]) -> bytes | None:
    """A message that is not one well-formed JSON object of sensible size."""
    text = json.dumps(body)
    kind = draw(st.sampled_from(["truncated", "not_utf8", "array", "scalar", "large", "none",
                                 "deep", "huge_number", "duplicate_key", "empty"]))  # fmt: skip
    if kind == "truncated":
        return text[: draw(st.integers(0, len(text) - 1))].encode()
    if kind == "not_utf8":
        return text.encode()[:-1] + b"\xff}"
    if kind == "array":
        return f"[{text}]".encode()
    if kind == "scalar":
        return draw(st.sampled_from([b"1", b'"reading"', b"null", b"true"]))
    if kind == "large":
        return json.dumps({**body, "pad": "x" * MAX_BYTES}).encode()
    if kind == "none":
        return None
    if kind == "deep":
        depth = draw(st.sampled_from([10, 2000]))
        return (text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == "huge_number":
        name = draw(st.sampled_from(["temp", "extra"]))
        return (text[:-1] + f', "{name}": 1e400}}').encode()
    if kind == "duplicate_key":
        return (text[:-1] + ', "temp": "hot", "temp": 4.0}').encode()
    return b""


def _speed(raw: bytes | None) -> events.Reading | InvalidReading:
    """What the speed layer decodes (``events.decode_reading``, as its processor calls it)."""
    try:
        return events.decode_reading(raw, record_ts_ms=PRODUCED_MS, max_bytes=MAX_BYTES,
                                     future_tolerance_s=TOLERANCE_S)  # fmt: skip
    except InvalidReading as error:
        return error


def _bridge(raw: bytes | None) -> tuple[Any, ...] | Rejection:
    """What the bridge decodes (``records.decode_telemetry``, as its batch sorting calls it)."""
    message = Consumed("truck_telemetry", 0, 7, b"K", raw, PRODUCED_MS)
    return decode_telemetry(message, max_bytes=MAX_BYTES, future_tolerance_s=TOLERANCE_S,
                            fallback_ts_ms=PRODUCED_MS)  # fmt: skip


@settings(derandomize=True, max_examples=500, deadline=None)
@given(messages())
@example(None)
@example(b'{"truck_id": "K", "temp": 4, "timestamp": 1767225600, "seq": 9223372036854775808}')
@example(b'{"truck_id": "K", "temp": 4, "timestamp": 1767225600, "note": "a\\u0000b"}')
@example(b'{"truck_id": "K", "temp": 4, "timestamp": 1767225600, "x": 1e400}')
@example(b'{"truck_id": "K", "temp": 4, "timestamp": 1767225600, "temp": "hot", "temp": 2}')
def test_every_reading_is_accepted_by_both_layers_or_refused_by_both_alike(
    raw: bytes | None,
) -> None:
    speed, bridge = _speed(raw), _bridge(raw)
    if isinstance(speed, InvalidReading):
        assert isinstance(bridge, Rejection), (raw, speed.code, speed.message)
        assert bridge.reason == speed.code, (raw, bridge.detail, speed.message)
        assert bridge.detail == speed.message
        assert speed.code in events.REASON_CODES
        if speed.code in (events.REASON_MISSING_FIELD, events.REASON_WRONG_TYPE,
                          events.REASON_FUTURE_EVENT):  # fmt: skip
            assert speed.field in events.READING_FIELDS, (raw, speed.message)
        if speed.field is not None:
            assert f"'{speed.field}'" in speed.message or speed.field == "timestamp"
        return
    assert not isinstance(bridge, Rejection), (raw, bridge.reason, bridge.detail)
    row = dict(zip(READING_COLUMNS, bridge, strict=True))
    assert row["ts"] == speed.timestamp
    for name in ("event_id", "truck_id", "temp", "fuel", "seq", "lat", "lon", "door_open"):
        assert row[name] == getattr(speed, name), name


def test_a_broken_field_is_named_in_the_refusal() -> None:
    base = {"truck_id": "K", "temp": 4.0, "timestamp": 1_767_225_600}
    cases = {
        "lat": {**base, "lat": 200},
        "temp": {**base, "temp": "hot"},
        "seq": {**base, "seq": 2**63},
        "truck_id": {"temp": 4.0, "timestamp": 1_767_225_600},
        "timestamp": {**base, "timestamp": 1_767_226_000},
        "note": {**base, "note": "a\x00b"},
    }
    for field, body in cases.items():
        refused = _speed(json.dumps(body).encode())
        assert isinstance(refused, InvalidReading), field
        assert refused.field == field, (field, refused.message)
    not_json = _speed(b"{")
    assert isinstance(not_json, InvalidReading)
    assert not_json.field is None
