"""Response and request models: they make the OpenAPI contract (``docs/openapi.json``).

Times are Unix epoch seconds (numbers), as in the wire contract. Large responses are encoded
with msgspec straight from plain data; these models document them and Schemathesis checks that
the responses match.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logistream.events import SEQ_MAX

Severity = Literal["critical", "major", "minor", "warning"]
AlertState = Literal["open", "acknowledged", "resolved", "suppressed"]
ReportFormat = Literal["pdf", "csv", "json"]


class Rejected(BaseModel):
    index: int | None = Field(None, description="Position in the batch; null for a single reading.")
    reason: str = Field(description="Reason code, as on the DLQ: missing_field, wrong_type, ...")
    field: str | None = Field(None, description="The contract field at fault, when there is one.")
    detail: str = Field(description="What is wrong and what to do.")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: a code a program can test, and a sentence a person can act on."""

    error: str = Field(description="Machine-readable code, e.g. token_missing, scope_missing.")
    detail: str = Field(description="What is missing or wrong, and what to do.")
    missing_scope: str | None = Field(None, description="On 403: the scope the token lacks.")
    service: str | None = Field(None, description="On 503: redis, postgres or kafka.")
    rejected: list[Rejected] | None = Field(None, description="On ingest: every bad reading.")


class ReadingIn(BaseModel):
    """One telemetry reading, the DESIGN.md contract; unknown fields are kept in the archive."""

    model_config = ConfigDict(extra="allow")

    truck_id: str = Field(min_length=1, max_length=64)
    temp: float = Field(ge=-80, le=100, description="Cargo air temperature, °C.")
    timestamp: float = Field(
        ge=946684800, description="Event time, Unix epoch seconds; at most 5 min ahead of now."
    )
    fuel: float | None = Field(None, ge=0, le=100)
    event_id: str | None = Field(None, max_length=128)
    seq: int | None = Field(None, ge=0, le=SEQ_MAX)
    trip_id: str | None = Field(None, max_length=128)
    driver_id: str | None = Field(None, max_length=128)
    cargo: str | None = Field(None, max_length=128)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    speed_kmh: float | None = Field(None, ge=0, le=250)
    heading_deg: float | None = Field(None, ge=0, le=360)
    humidity: float | None = Field(None, ge=0, le=100)
    door_open: bool | None = None
    reefer_on: bool | None = None
    defrost: bool | None = None
    probe_id: str | None = Field(
        None, max_length=128, description="The truck's probe that read temp; absent: its only one."
    )


class ReadingOut(ReadingIn):
    """A reading as the speed layer last saw it (``event_id`` always set)."""


class AlertSummary(BaseModel):
    alert_id: str
    rule: str
    severity: str
    state: str


class ProbeTemp(BaseModel):
    """One named probe's newest temperature, on a truck with several probes."""

    probe_id: str
    temp: float = Field(description="The probe's newest cargo air temperature, °C.")
    timestamp: float = Field(description="Event time of that reading, Unix epoch seconds.")


class TruckMode(BaseModel):
    """The operating mode active at the truck's newest reading (the live view's ``mode``): its
    temperature alarms are held (recorded as suppressed) until ``ends_at``."""

    mode_id: str
    kind: Literal["precooling", "maintenance", "washout"]
    reason: str
    starts_at: float = Field(description="Epoch seconds (UTC).")
    ends_at: float = Field(description="When it ends: its end time, or its early end.")
    set_by: str


class Truck(BaseModel):
    truck_id: str
    status: str = Field(description="ok, offline, or the worst severity among open alerts.")
    reading: ReadingOut = Field(description="The newest reading, of any probe.")
    alerts: list[AlertSummary]
    updated_at: float = Field(description="Wall-clock time the speed layer wrote this view.")
    probes: list[ProbeTemp] = Field(
        default_factory=list,
        description="On a truck with several probes, each probe's newest temperature, by probe "
        "id; empty for a truck with a single probe (its temperature is reading.temp).",
    )
    mode: TruckMode | None = Field(
        default=None,
        description="The operating mode (precooling, maintenance, washout) active at the newest "
        "reading; null without one.",
    )


class Fleet(BaseModel):
    trucks: list[Truck]
    count: int
    as_of: float


class Alert(BaseModel):
    alert_id: str
    truck_id: str
    rule: str
    severity: Severity
    state: AlertState
    opened_at: float
    changed_at: float
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
    known_at: float | None = Field(
        default=None,
        description="Alerts raised from late readings (stored on the truck, sent after newer "
        "ones): the truck's newest event time when the alert became known. Absent: known as "
        "it happened.",
    )
    probe_id: str | None = Field(
        default=None,
        description="The probe whose readings raised it (a temperature or sensor rule on a "
        "truck with several probes, devices.toml). Absent: the truck's single probe, or a "
        "rule about the vehicle.",
    )


class Alerts(BaseModel):
    alerts: list[Alert]
    count: int


class AlertHistory(BaseModel):
    """Alert state changes from the archive, newest first."""

    changes: list[Alert]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")


class AckIn(BaseModel):
    note: str = Field("", max_length=2000, description="What is being done about it.")


class AckOut(BaseModel):
    command_id: str
    alert_id: str
    by: str = Field(description="The token's owner, recorded as who acknowledged.")
    applied: bool = Field(description="Whether the speed layer applied it before this answer.")
    alert: Alert | None = Field(description="The alert as the live views show it now.")


class Trip(BaseModel):
    truck_id: str
    trip_id: str
    trip_id_sent: bool
    driver_id: str | None
    cargo: str
    route: str | None
    start_time: float
    end_time: float
    duration_s: float
    distance_km: float
    readings: int
    gap_s: float
    verdict: Literal["pass", "review", "fail"] | None = Field(
        description="Compliance verdict; null if not computed yet."
    )
    reason: str | None
    mkt_c: float | None = Field(description="Mean kinetic temperature, °C (null: frozen/no data).")
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    tor_s: float | None = Field(description="Time out of range, seconds.")
    tor_budget_s: float | None
    excursions: int | None
    hard_limit_passed: bool | None


class Trips(BaseModel):
    trips: list[Trip]
    next_cursor: str | None


class TripDetail(BaseModel):
    trip: Trip
    compliance: dict[str, Any] | None
    excursions: list[dict[str, Any]]
    gaps: list[dict[str, Any]]


class ArchivedReading(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str
    truck_id: str
    timestamp: float
    temp: float
    fuel: float | None = None
    seq: int | None = None
    trip_id: str | None = None
    driver_id: str | None = None
    cargo: str | None = None
    lat: float | None = None
    lon: float | None = None
    speed_kmh: float | None = None
    heading_deg: float | None = None
    humidity: float | None = None
    door_open: bool | None = None
    reefer_on: bool | None = None
    defrost: bool | None = None
    probe_id: str | None = None
    extras: dict[str, Any] | None = None


class TripReadings(BaseModel):
    readings: list[ArchivedReading]
    next_cursor: str | None


class ServiceState(BaseModel):
    ok: bool
    detail: str


class SpeedInstance(BaseModel):
    instance: str
    age_s: float
    lag_records: int
    lag_s: float
    processed: int
    partitions: list[int]


class BridgeInstance(BaseModel):
    instance: str
    age_s: float
    lag_messages: int | None
    lag_seconds: float | None
    total_messages: int


class Pipeline(BaseModel):
    ok: bool
    speed: ServiceState
    speed_instances: list[SpeedInstance]
    bridge: ServiceState
    bridge_instances: list[BridgeInstance]


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    ready: bool
    services: dict[str, ServiceState] = Field(description="redis, postgres, kafka.")


class IngestOut(BaseModel):
    accepted: int
    event_ids: list[str]
    topic: str
