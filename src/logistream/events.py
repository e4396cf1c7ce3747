"""The wire contract (DESIGN.md): telemetry readings, alert changes and alert commands.

Decoding is strict about what the contract requires and lenient about what it does not know:
unknown fields are allowed (the archive keeps them), while a missing ``truck_id``, a non-numeric
``temp``, an impossible value or an event time from the future raise :class:`InvalidReading`
with a reason code (for the DLQ), the field to blame and a sentence a person can act on.

This is the one validation of a reading: the speed layer (:func:`decode_reading`) and the bridge
(:func:`decode_reading_with_extras`) run the same checks, so a reading that raises an alert is
never refused by the archive, and one the archive refuses never raises an alert. The bridge only
adds the unknown fields, which never decide acceptance.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Annotated, Any, Final, Literal

import msgspec

from logistream.errors import InvalidReading

MAX_MESSAGE_BYTES: Final = 64 * 1024
FUTURE_TOLERANCE_S: Final = 300.0
# Readings older than this are refused as impossible (a clock that was never set reads 1970).
EARLIEST_EVENT_TIME: Final = 946_684_800.0  # 2000-01-01T00:00:00Z
EVENT_ID_NAMESPACE: Final = uuid.UUID("6f1c8a52-3d4b-5e8f-9a0b-1c2d3e4f5a6b")
# The archive stores ``seq`` as a 64-bit integer (PostgreSQL bigint).
SEQ_MAX: Final = 2**63 - 1

# Reason codes written to the DLQ and the rejected_readings table.
REASON_TOO_LARGE: Final = "too_large"
REASON_INVALID_JSON: Final = "invalid_json"
REASON_NOT_AN_OBJECT: Final = "not_an_object"
REASON_MISSING_FIELD: Final = "missing_field"
REASON_WRONG_TYPE: Final = "wrong_type"
REASON_IMPOSSIBLE_VALUE: Final = "impossible_value"
REASON_FUTURE_EVENT: Final = "future_event"
# A valid reading whose event_id the archive already holds with another timestamp (the bridge
# decides it against the archive, not from the message alone).
REASON_CONFLICTING_DUPLICATE: Final = "conflicting_duplicate"
REASON_CODES: Final = (
    REASON_TOO_LARGE,
    REASON_INVALID_JSON,
    REASON_NOT_AN_OBJECT,
    REASON_MISSING_FIELD,
    REASON_WRONG_TYPE,
    REASON_IMPOSSIBLE_VALUE,
    REASON_FUTURE_EVENT,
    REASON_CONFLICTING_DUPLICATE,
)

TruckId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Celsius = Annotated[float, msgspec.Meta(ge=-80.0, le=100.0)]
EpochSeconds = Annotated[float, msgspec.Meta(ge=EARLIEST_EVENT_TIME)]
Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
SpeedKmh = Annotated[float, msgspec.Meta(ge=0.0, le=250.0)]
Heading = Annotated[float, msgspec.Meta(ge=0.0, le=360.0)]
ShortText = Annotated[str, msgspec.Meta(max_length=128)]


class Reading(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One telemetry reading: a superset of the original ``{truck_id, temp, fuel, timestamp}``."""

    truck_id: TruckId
    temp: Celsius
    timestamp: EpochSeconds
    fuel: Percent | None = None
    event_id: ShortText | None = None
    seq: Annotated[int, msgspec.Meta(ge=0, le=SEQ_MAX)] | None = None
    trip_id: ShortText | None = None
    driver_id: ShortText | None = None
    cargo: ShortText | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    speed_kmh: SpeedKmh | None = None
    heading_deg: Heading | None = None
    humidity: Percent | None = None
    door_open: bool | None = None
    reefer_on: bool | None = None
    defrost: bool | None = None
    probe_id: ShortText | None = None
    """Which of the truck's temperature probes read ``temp`` (devices.toml); absent: its only
    probe. Readings of two probes at one second are two readings."""


READING_FIELDS: Final = frozenset(Reading.__struct_fields__)

# The alert rules (an alert's ``rule``): scenarios, the speed layer and the dashboard use these.
RULE_NAMES: Final = (
    "temp_high",
    "temp_low",
    "temp_critical",
    "tor_budget",
    "temp_rising",
    "door_open",
    "sensor_offline",
    "fuel_theft",
    "fuel_low",
    "speeding",
    "harsh_braking",
    "harsh_acceleration",
    "route_deviation",
    "sensor_fault",
    "calibration_overdue",
    "not_precooled",
    "eta_late",
    "lot_rejected",
)

AlertState = Literal["open", "acknowledged", "resolved", "suppressed"]
"""``suppressed``: a temperature alarm held during the truck's operating mode (a one-off record
of the rule that would have opened, with its own id; never open, never notified)."""
Severity = Literal["critical", "major", "minor", "warning"]
SEVERITY_ORDER: Final[dict[str, int]] = {"critical": 0, "major": 1, "minor": 2, "warning": 3}


class Alert(msgspec.Struct, kw_only=True):
    """One alert state change, as published on ``truck_alerts`` (key = truck_id)."""

    alert_id: str
    truck_id: str
    rule: str
    severity: Severity
    state: AlertState
    opened_at: float
    """Event time of the reading that opened the alert."""
    changed_at: float
    """Event time (or, for an acknowledgement, wall-clock time) of this change."""
    message: str
    trip_id: str | None = None
    cargo: str | None = None
    value: float | None = None
    threshold: float | None = None
    lat: float | None = None
    lon: float | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    resolved_at: float | None = None
    known_at: float | None = None
    """For an alert raised from late readings (stored on the truck and sent after newer ones):
    the truck's newest event time when it became known; ``known_at - opened_at`` is its delay.
    None: known as it happened."""
    probe_id: str | None = None
    """The probe whose readings raised it (a cargo-air rule on a truck with several probes);
    None: the truck's single probe, or a rule about the vehicle."""


class AlertCommand(msgspec.Struct, kw_only=True):
    """A request to change an alert, on ``alert_commands``; the speed layer alone applies it."""

    action: Literal["ack"]
    alert_id: str
    truck_id: str
    by: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    issued_at: float = 0.0
    command_id: str | None = None


class StageEvent(msgspec.Struct, kw_only=True):
    """A shipment's stage changed, as published on ``shipment_events`` (key = shipment_id) and
    kept in the live views. Stages: :data:`logistream.shipments.model.Stage`."""

    event_id: str
    """From the data (shipment, stage, stop, time): a change published twice is one change."""
    shipment_id: str
    truck_id: str
    stage: str
    stop: int
    """Index of the stop in the shipment: the one it is at, or (in transit) the one it left."""
    stop_id: str
    stop_name: str
    at: float
    """Event time at which the stage began (the first reading inside, or outside, the fence)."""
    previous_stage: str
    previous_stop: int
    cause: Literal["geofence", "override"]
    by: str | None = None
    """Who set it, for an override."""
    reason: str | None = None
    reading_event_id: str | None = None
    """The reading that completed the dwell (None: an override)."""


def stage_event_id(shipment_id: str, stage: str, stop: int, at: float) -> str:
    return f"{shipment_id}:{stage}:{stop}:{at:.3f}"


_typed_decoder: Final = msgspec.json.Decoder(Reading)
_object_decoder: Final = msgspec.json.Decoder(dict[str, Any])
# Values left as their JSON text: an unknown field may hold a number no float holds (1e400).
_raw_object_decoder: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_encoder: Final = msgspec.json.Encoder()
_alert_decoder: Final = msgspec.json.Decoder(Alert)
_command_decoder: Final = msgspec.json.Decoder(AlertCommand)

_FIELD_HELP: Final[dict[str, str]] = {
    "truck_id": "a non-empty string of at most 64 characters (the registration)",
    "temp": "a number of °C between -80 and 100",
    "timestamp": "Unix epoch seconds (a number) after 2000-01-01",
    "fuel": "a number between 0 and 100 (% of tank)",
    "lat": "WGS84 degrees between -90 and 90",
    "lon": "WGS84 degrees between -180 and 180",
    "speed_kmh": "a number of km/h between 0 and 250",
    "heading_deg": "degrees between 0 and 360",
    "humidity": "a number between 0 and 100 (% RH)",
    "seq": f"a whole number from 0 to {SEQ_MAX} (64 bits)",
    "probe_id": "a string of at most 128 characters: the probe's id in devices.toml",
}
_MISSING_RE: Final = re.compile(r"missing required field `(?P<field>[^`]+)`")
_AT_RE: Final = re.compile(r"- at `\$\.(?P<field>[^`\[]+)")
_TYPE_RE: Final = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_MALFORMED_RE: Final = re.compile(r"malformed: (?P<what>.+) \(byte (?P<byte>\d+)\)")
MILLISECONDS_AFTER: Final = 1e11
"""An event time above this (the year 5138 in seconds) is a timestamp in milliseconds."""


def derive_event_id(truck_id: str, timestamp: float, probe_id: str | None = None) -> str:
    """The id of a reading that came without one: the same reading always gets the same id,
    and each probe of a truck its own (a single-probe reading keeps the id it always had)."""
    name = (
        f"{truck_id}|{timestamp!r}" if probe_id is None else f"{truck_id}|{probe_id}|{timestamp!r}"
    )
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


def _explain_validation(error: msgspec.ValidationError, raw: bytes) -> InvalidReading:
    text = str(error)
    if missing := _MISSING_RE.search(text):
        field = missing["field"]
        return InvalidReading(
            REASON_MISSING_FIELD,
            f"Required field '{field}' is missing: every reading needs truck_id, temp and "
            "timestamp; fix the producer to send it.",
            field=field,
        )
    at = _AT_RE.search(text)
    field = at["field"] if at else None
    if field is None:
        return InvalidReading(
            REASON_NOT_AN_OBJECT,
            f"A reading must be one JSON object ({text}); send one object per message.",
        )
    help_text = _FIELD_HELP.get(field, "as the contract in DESIGN.md says")
    wrong_type = _TYPE_RE.search(text)
    if wrong_type and not any(op in wrong_type["want"] for op in ("<", ">")):
        return InvalidReading(
            REASON_WRONG_TYPE,
            f"Field '{field}' has the wrong type (got {wrong_type['got']}): it must be "
            f"{help_text}; fix the producer.",
            field=field,
        )
    return InvalidReading(
        REASON_IMPOSSIBLE_VALUE,
        f"Field '{field}' is {_as_sent(raw, field)}, which it cannot be: it must be "
        f"{help_text}; check the sensor or its calibration.",
        field=field,
    )


def _as_sent(raw: bytes, field: str) -> str:
    """A field's value as the producer sent it, for a person (never the decoder's own words)."""
    try:
        value = json.loads(raw).get(field)
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
        return "not readable"
    if isinstance(value, str):
        return f"{len(value)} characters long" if len(value) > 20 or not value else repr(value)
    return repr(value) if isinstance(value, int | float) else type(value).__name__


def _explain_bad_json(raw: bytes, error: Exception) -> InvalidReading:
    # Python's json module accepts NaN/Infinity, which msgspec (rightly) refuses: name the field.
    try:
        loose = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        loose = None
    if isinstance(loose, dict):
        for key, value in loose.items():
            if isinstance(value, float) and not math.isfinite(value):
                return InvalidReading(
                    REASON_IMPOSSIBLE_VALUE,
                    f"Field '{key}' is {value!r}, not a finite number: the sensor sent no "
                    "real value; check the sensor, or leave the field out.",
                    field=key,
                )
    return InvalidReading(
        REASON_INVALID_JSON,
        f"The message is {json_problem(error)}: it may be truncated or not JSON at all; check "
        "the producer's encoding.",
    )


def json_problem(error: Exception) -> str:
    """What is wrong with bytes that did not decode, for a person: ``not valid JSON (trailing
    comma at byte 40, counting from 0)``."""
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.start} cannot be read)"
    if where := _MALFORMED_RE.search(str(error)):
        return f"not valid JSON ({where['what']} at byte {where['byte']}, counting from 0)"
    return "not valid JSON"


def _check(reading: Reading, record_ts_ms: int | None, future_tolerance_s: float) -> Reading:
    if record_ts_ms is not None and record_ts_ms > 0:
        produced = record_ts_ms / 1000.0
        if reading.timestamp > MILLISECONDS_AFTER:
            raise InvalidReading(
                REASON_FUTURE_EVENT,
                f"Field 'timestamp' is {reading.timestamp:.0f}, which is in milliseconds: the "
                f"contract wants Unix epoch seconds ({reading.timestamp / 1000:.3f}); divide by "
                "1000 in the producer.",
                field="timestamp",
            )
        if reading.timestamp > produced + future_tolerance_s:
            ahead = reading.timestamp - produced
            raise InvalidReading(
                REASON_FUTURE_EVENT,
                f"Event time is {ahead:.0f} s after the message was produced (limit "
                f"{future_tolerance_s:.0f} s): the device clock runs ahead; set it right "
                "(NTP or GPS time).",
                field="timestamp",
            )
    if reading.event_id is None:
        reading.event_id = derive_event_id(reading.truck_id, reading.timestamp, reading.probe_id)
    return reading


def _check_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        raise InvalidReading(
            REASON_TOO_LARGE,
            f"Message is {len(raw)} bytes, above the contract's {max_bytes}-byte limit: send "
            "one reading per message and keep extra fields small.",
        )


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def nul_field(raw: bytes) -> str | None:
    """The top-level field of a JSON object whose text (name or value) holds a NUL character,
    which PostgreSQL text and jsonb cannot store; None when there is none."""
    # A NUL can only arrive escaped; the byte test keeps the common case free.
    if b"\\u0000" not in raw:
        return None
    try:
        fields: dict[str, Any] = _object_decoder.decode(raw)
    except msgspec.ValidationError:  # a number beyond float: look at the JSON text instead
        texts = {k: bytes(v) for k, v in _raw_object_decoder.decode(raw).items()}
        found = [k for k, v in texts.items() if "\x00" in k or b"\\u0000" in v]
    else:
        found = [k for k, v in fields.items() if _has_nul(k) or _has_nul(v)]
    return found[0].replace("\x00", "\\u0000") if found else None


def _check_storable(raw: bytes) -> None:
    if (field := nul_field(raw)) is not None:
        raise InvalidReading(
            REASON_IMPOSSIBLE_VALUE,
            f"Field '{field}' contains a NUL character (\\u0000), which the archive cannot "
            "store: fix the producer to send printable text.",
            field=field,
        )


def _validated(
    raw: bytes | None, record_ts_ms: int | None, max_bytes: int, future_tolerance_s: float
) -> Reading:
    """The one validation of a reading, for the speed layer and the bridge alike."""
    if raw is None:
        raise InvalidReading(
            REASON_INVALID_JSON,
            "The message has no value (a Kafka tombstone): send one JSON reading per message.",
        )
    _check_size(raw, max_bytes)
    try:
        reading = _typed_decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise _explain_validation(error, raw) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise _explain_bad_json(raw, error) from None
    except RecursionError:
        raise InvalidReading(
            REASON_INVALID_JSON,
            "The message nests arrays or objects too deep to read: send flat readings.",
        ) from None
    _check_storable(raw)
    return _check(reading, record_ts_ms, future_tolerance_s)


def decode_reading(
    raw: bytes | None,
    *,
    record_ts_ms: int | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
    future_tolerance_s: float = FUTURE_TOLERANCE_S,
) -> Reading:
    """Decode and validate one message; ``event_id`` is always set on the result.

    ``record_ts_ms`` is the Kafka record timestamp (produce time); with it, readings from the
    future are refused. ``None`` (a message without a value) is refused too. Raises
    :class:`InvalidReading`.
    """
    return _validated(raw, record_ts_ms, max_bytes, future_tolerance_s)


def decode_reading_with_extras(
    raw: bytes | None,
    *,
    record_ts_ms: int | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
    future_tolerance_s: float = FUTURE_TOLERANCE_S,
) -> tuple[Reading, dict[str, Any] | None]:
    """Like :func:`decode_reading` (the same checks, the same refusals), also returning the
    fields the contract does not name (or None), for the archive."""
    reading = _validated(raw, record_ts_ms, max_bytes, future_tolerance_s)
    assert raw is not None  # refused above
    try:
        fields: dict[str, Any] = _object_decoder.decode(raw)
    except msgspec.ValidationError:  # a number beyond float in an unknown field: kept as sent
        fields = dict(_raw_object_decoder.decode(raw))
    extras = {k: v for k, v in fields.items() if k not in READING_FIELDS} or None
    return reading, extras


def encode(value: Reading | Alert | AlertCommand | StageEvent) -> bytes:
    """JSON bytes of a reading, an alert change, a command or a stage event."""
    return _encoder.encode(value)


def decode_alert(raw: bytes) -> Alert:
    """Decode one ``truck_alerts`` message (raises msgspec errors)."""
    return _alert_decoder.decode(raw)


def decode_command(raw: bytes) -> AlertCommand:
    """Decode one ``alert_commands`` message (raises msgspec errors)."""
    return _command_decoder.decode(raw)


_stage_event_decoder: Final = msgspec.json.Decoder(StageEvent)


def decode_stage_event(raw: bytes) -> StageEvent:
    """Decode one ``shipment_events`` message (raises msgspec errors)."""
    return _stage_event_decoder.decode(raw)
