"""The shipment resources of ``/v1/shipments`` as the OpenAPI document shows them.

The request body of ``POST /v1/shipments`` is the shipment file's table as JSON (the format of
``logistream.shipments.parse``, which does the validation: these models only document it), and
every record answer carries it back unchanged as ``document``. Record times (``created_at``,
``updated_at``, a change's ``at``) are Unix epoch seconds, as everywhere in the API; the
document's own windows are ISO 8601 with their UTC offset, as in the file.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from logistream.api.schemas import ErrorBody

Stage = Literal["planned", "at_origin", "in_transit", "at_stop", "at_destination", "delivered"]
ShipmentStatus = Literal["active", "cancelled", "delivered"]

EXAMPLE: Final[dict[str, Any]] = {
    "shipment_id": "SHP-2026-0118",
    "reference": "KEMSA/EPI/2026/118",
    "cargo": "vaccines",
    "truck_id": "KCB 781C",
    "probes": ["front", "rear"],
    "shipper": {"id": "kemsa", "name": "Kenya Medical Supplies Authority"},
    "receiver": {"id": "moh-western", "name": "Western Region Vaccine Depots"},
    "lots": [
        {
            "number": "MR-2611",
            "product": "Measles-rubella vaccine, 10-dose vial",
            "quantity": 40,
            "unit": "carton",
            "expiry": "2027-09-30",
        }
    ],
    "stops": [
        {
            "id": "nairobi-central",
            "name": "Nairobi central vaccine store",
            "kind": "origin",
            "window_start": "2026-12-08T06:00:00+03:00",
            "window_end": "2026-12-08T07:00:00+03:00",
            "drops": [],
            "geofence": {"circle": {"lat": -1.2864, "lon": 36.8172, "radius_m": 300}},
        },
        {
            "id": "kisumu-depot",
            "name": "Kisumu regional vaccine depot",
            "kind": "destination",
            "window_start": "2026-12-08T13:00:00+03:00",
            "window_end": "2026-12-08T14:30:00+03:00",
            "drops": ["MR-2611"],
            "geofence": {
                "polygon": [[-0.09, 34.766], [-0.09, 34.77], [-0.094, 34.77], [-0.094, 34.766]]
            },
        },
    ],
}


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(_Closed):
    id: str = Field(min_length=1, description="A stable organisation id (filters use it).")
    name: str = Field(min_length=1)


class LotDocument(_Closed):
    number: str = Field(min_length=1, description="The lot number; unique in the shipment.")
    product: str = Field(min_length=1)
    quantity: float = Field(gt=0)
    unit: str = Field(min_length=1)
    expiry: date | None = Field(None, description="Optional; absent when unknown.")


class Circle(_Closed):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0)


class CircleFence(_Closed):
    circle: Circle


class PolygonFence(_Closed):
    polygon: list[tuple[float, float]] = Field(
        min_length=3, description="[lat, lon] corners in order round the edge."
    )


class StopDocument(_Closed):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["origin", "drop", "destination"] = Field(
        description="The first stop is the origin, the last the destination, the others drops."
    )
    window_start: datetime = Field(description="Planned arrival window, with its UTC offset.")
    window_end: datetime
    drops: list[str] = Field(default_factory=list, description="Lot numbers handed over here.")
    geofence: CircleFence | PolygonFence


class ShipmentDocument(_Closed):
    """A shipment in its file format (``logistream shipments create FILE`` reads the same)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    shipment_id: str = Field(min_length=1, max_length=128)
    reference: str = Field(min_length=1)
    cargo: str = Field(min_length=1, description="A cargo profile of the registry (cargo.toml).")
    truck_id: str = Field(min_length=1, description="A truck of the fleet (fleet.toml).")
    probes: list[str] = Field(
        default_factory=list, description="The truck's probes assigned; absent: every probe."
    )
    shipper: Organisation
    receiver: Organisation
    lots: list[LotDocument] = Field(min_length=1)
    stops: list[StopDocument] = Field(min_length=2)


class StageOverrideOut(BaseModel):
    """The latest stage a dispatcher set by hand."""

    stage: Stage
    stop: int = Field(description="Index into the document's stops (0: the origin).")
    by: str
    at: float
    reason: str


class ShipmentChange(BaseModel):
    """One line of the change log: the change that made ``version``."""

    version: int
    change: Literal["created", "cancelled", "stage_overridden", "pod_recorded"]
    by: str = Field(description="CLI: cli:<OS user>; API: the token's name; dashboard: the user.")
    at: float
    reason: str
    detail: dict[str, Any] | None


class StopEta(BaseModel):
    stop: int
    eta: float = Field(description="Expected arrival, Unix epoch seconds.")
    km_left: float
    late: bool = Field(description="The ETA falls after the stop's planned window.")


class ShipmentLive(BaseModel):
    """What the speed layer knows now (live views), while it tracks the shipment."""

    shipment_id: str
    truck_id: str
    stage: Stage
    stop: int
    since: float | None = Field(description="Event time the stage began; null: nothing seen.")
    updated_at: float = Field(description="Event time of the reading behind this state.")
    etas: list[StopEta] = Field(description="Every stop not reached yet.")
    arrival_forecast: str | None = Field(
        description="When the temperature trend breaches the cargo's limit before the next stop."
    )


class ShipmentSummary(BaseModel):
    shipment_id: str
    reference: str
    shipper: Organisation
    receiver: Organisation
    cargo: str
    truck_id: str
    status: ShipmentStatus
    version: int = Field(description="1 at creation, +1 at every change.")
    created_at: float
    updated_at: float
    override: StageOverrideOut | None
    live: ShipmentLive | None = Field(
        description="The live state; null when the speed layer does not track the shipment."
    )


class Shipments(BaseModel):
    shipments: list[ShipmentSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")


class LotTemperature(BaseModel):
    """The lot's temperature up to the handover, as stored with its PoD (°C, minutes)."""

    probes: list[str]
    readings: int
    min_c: float | None
    max_c: float | None
    mkt_c: float | None = Field(
        description="Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R = 10,000 K)."
    )
    tor_min: float | None = Field(description="Time out of the cargo's range, minutes.")
    tor_budget_min: float | None = Field(description="The cargo's time-out-of-range budget.")
    excursions: int | None
    longest_excursion_min: float | None


class Pod(BaseModel):
    """A lot's proof of delivery: accepted or rejected at its handover stop, once."""

    stop: int = Field(description="Index into the document's stops.")
    stop_id: str
    lot: str
    decision: Literal["accepted", "rejected"]
    by: str = Field(description="Who recorded it: the user's or the API token's name.")
    name: str = Field(description="The printed name of who signed at the handover.")
    at: float = Field(description="When it was signed, Unix epoch seconds.")
    note: str
    temperature: LotTemperature | None = Field(
        description="The lot's temperature summary up to the signature (null: not stored)."
    )


class PodIn(BaseModel):
    """The receiver accepts or rejects one lot at the stop where it is handed over."""

    model_config = ConfigDict(extra="forbid")

    stop: str = Field(min_length=1, max_length=64, description="The stop's id (stop_id).")
    lot: str = Field(min_length=1, max_length=64, description="The lot number.")
    decision: Literal["accepted", "rejected"]
    name: str = Field(
        min_length=1, max_length=200, description="The printed name of who signs for the lot."
    )
    note: str = Field("", max_length=2000, description="Kept with the PoD and in the log.")


class Shipment(BaseModel):
    """A shipment's record: its document, status, version, latest override, change log and
    proofs of delivery."""

    shipment_id: str
    status: ShipmentStatus
    version: int = Field(description="1 at creation, +1 at every change.")
    created_at: float
    updated_at: float
    override: StageOverrideOut | None
    document: ShipmentDocument
    changes: list[ShipmentChange] = Field(description="Oldest first.")
    pods: list[Pod] = Field(description="Proofs of delivery, by stop then lot.")
    live: ShipmentLive | None = Field(
        description="The live state; null when the speed layer does not track the shipment."
    )


class ShipmentWritten(Shipment):
    """The record after a change (stored in PostgreSQL, the source of truth)."""

    published: bool = Field(
        description="Whether Kafka acknowledged the change on the shipments topic. False (HTTP "
        "202): stored, and sent when Kafka is back (the API sends what is pending at start)."
    )
    warning: str | None = Field(None, description="Why it is not published yet.")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the log).")


class StageIn(BaseModel):
    """A dispatcher's override of the stage the geofences set."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage
    stop: int | None = Field(
        None,
        ge=0,
        le=10_000,
        description="Stop index (0: the origin): the stop it is at, or last left when "
        "in_transit; needed only when the stage fits several stops.",
    )
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the log).")


class ShipmentRefusal(ErrorBody):
    """A refused shipment change: the field to blame and, in ``detail``, what to fix."""

    field: str | None = Field(
        None, description="The path of the field at fault, e.g. stops[2].geofence.polygon."
    )
