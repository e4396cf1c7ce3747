"""Proof of delivery: who may accept or reject a lot, where, and once. Pure.

At the stop where a lot is handed over (the stop whose ``drops`` name it, else the destination:
``carriage.drop_stop``'s rule), a user of the shipment's **receiving organisation** accepts or
rejects it, with the printed name of who signed, the time, a note, and the lot's temperature
summary up to the handover. :func:`check_pod` turns a request into a :class:`ProofOfDelivery`
or refuses it with ``ShipmentError`` (one line: the field, then what to do). The store runs it
inside the transaction that holds the shipment's row lock, then writes.

Who may sign (the choice, and why it is the simplest sound one):
- the signer is a :class:`Signatory`: the name recorded (a dashboard user's ``users.name``, or
  an API token's name) and the organisation it acts for. Only the shipment's receiver
  (``receiver.id``) signs; the fleet operator's own staff (organisation None) and any other
  organisation, the shipper included, are refused: a receipt signed by the carrier proves
  nothing to the shipper.
- a dashboard user's organisation is ``users.organisation`` (migration 0022, ``logistream users
  add NAME --organisation ORG``). An API token has no organisation today, so it acts for none
  and cannot sign; the PoD route gives a token one when it lands (a column on ``api_tokens``),
  and passes it here the same way. No name-based convention: a name proves nothing.

Refused, in this order: a shipment not active (cancelled, or already delivered); a signer
outside the receiver (before anything about the lots is said); an unknown stop or lot; a lot
not handed over at that stop; a lot already signed for (a PoD is final: a correction is a note
on the shipment, never a second signature); an unknown decision; a blank printed name; a note
over 2,000 characters; a naive time. When every lot has its PoD the shipment is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, get_args

from logistream.reads.tenancy import is_carrier
from logistream.shipments.errors import ShipmentError
from logistream.shipments.model import Shipment
from logistream.shipments.verdict import LotFigures

Decision = Literal["accepted", "rejected"]
DECISIONS: Final[tuple[Decision, ...]] = get_args(Decision)

NOTE_MAX: Final = 2000
NAME_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class ProofOfDelivery:
    """One lot accepted or rejected at its handover (a row of ``shipment_pod``; on the topic)."""

    stop_index: int
    """Index into ``shipment.stops``: where the lot was handed over."""
    lot: str
    """The lot number."""
    decision: Decision
    by: str
    """Who recorded it: a user's name, or an API token's name."""
    name: str
    """The printed name of who signed at the handover."""
    at: datetime
    """When it was signed (aware)."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Signatory:
    """Who records a PoD and the organisation it acts for (None or ``carrier``: the fleet
    operator's staff)."""

    by: str
    organisation: str | None


@dataclass(frozen=True, slots=True)
class PodRequest:
    """What the receiver says at a stop about one lot."""

    stop_id: str
    lot: str
    decision: str
    name: str
    at: datetime
    note: str = ""


def handover_stop(shipment: Shipment, lot_number: str) -> int:
    """The index of the stop where the lot is handed over (the destination if none names it)."""
    for index, stop in enumerate(shipment.stops):
        if lot_number in stop.drops:
            return index
    return len(shipment.stops) - 1


def _stop_index(shipment: Shipment, stop_id: str) -> int:
    for index, stop in enumerate(shipment.stops):
        if stop.stop_id == stop_id:
            return index
    known = ", ".join(stop.stop_id for stop in shipment.stops)
    raise ShipmentError(
        "stop_id", f"no stop {stop_id!r} on shipment {shipment.shipment_id!r}; its stops: {known}"
    )


def check_signatory(shipment: Shipment, signatory: Signatory) -> None:
    """Refuse anyone but a user (or token) of the shipment's receiving organisation."""
    receiver = shipment.receiver
    if signatory.organisation == receiver.org_id:
        return
    whose = (
        "the fleet operator's staff"
        if is_carrier(signatory.organisation)
        else f"organisation {signatory.organisation!r}"
    )
    raise ShipmentError(
        "organisation",
        f"{signatory.by!r} belongs to {whose}, not the receiver {receiver.org_id!r} "
        f"({receiver.name}); a user or API token of the receiver signs for its lots "
        f"(`logistream users add NAME --organisation {receiver.org_id}`, or `logistream api "
        f"token create NAME --scope shipments --organisation {receiver.org_id}`)",
    )


def check_pod(
    shipment: Shipment,
    status: str,
    signed: Iterable[ProofOfDelivery],
    request: PodRequest,
    signatory: Signatory,
) -> ProofOfDelivery:
    """The PoD ``request`` makes, or ``ShipmentError`` naming the field and the fix.

    ``status`` is the shipment's (only an active one is signed for); ``signed`` its PoDs so far.
    """
    if status != "active":
        raise ShipmentError(
            "status",
            f"shipment {shipment.shipment_id!r} is {status}; only an active shipment's lots are "
            "signed for",
        )
    by = signatory.by.strip()
    if not 1 <= len(by) <= 128:
        raise ShipmentError("by", "give the user name of who records it (1 to 128 characters)")
    check_signatory(shipment, signatory)  # first: an outsider learns nothing of the lots
    index = _stop_index(shipment, request.stop_id)
    if shipment.lot(request.lot) is None:
        known = ", ".join(lot.number for lot in shipment.lots)
        raise ShipmentError(
            "lot", f"no lot {request.lot!r} on shipment {shipment.shipment_id!r}; its lots: {known}"
        )
    where = handover_stop(shipment, request.lot)
    if where != index:
        right = shipment.stops[where]
        raise ShipmentError(
            "lot",
            f"lot {request.lot!r} is not dropped at {request.stop_id!r} but at {right.stop_id!r} "
            f"({right.name}); sign for it there",
        )
    for pod in signed:
        if pod.lot == request.lot:
            raise ShipmentError(
                "lot",
                f"lot {request.lot!r} was already {pod.decision} by {pod.by} at "
                f"{pod.at.isoformat()}; a lot is signed for once (add a note to the shipment "
                "instead)",
            )
    if request.decision not in DECISIONS:
        raise ShipmentError(
            "decision", f"{request.decision!r} is not one of {', '.join(DECISIONS)}"
        )
    name = " ".join(request.name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise ShipmentError(
            "name", f"give the printed name of who signs for the lot (1 to {NAME_MAX} characters)"
        )
    note = request.note.strip()
    if len(note) > NOTE_MAX:
        raise ShipmentError("note", f"{len(note)} characters; keep it to {NOTE_MAX}")
    if request.at.tzinfo is None or request.at.utcoffset() is None:
        raise ShipmentError("at", "has no UTC offset; give an aware datetime")
    decision: Decision = "accepted" if request.decision == "accepted" else "rejected"
    return ProofOfDelivery(index, request.lot, decision, by, name, request.at, note)


def all_signed(shipment: Shipment, pods: Iterable[ProofOfDelivery]) -> bool:
    """Every lot of the shipment has its PoD (the shipment is then delivered)."""
    return {lot.number for lot in shipment.lots} <= {pod.lot for pod in pods}


def summary_document(figures: LotFigures) -> dict[str, Any]:
    """The lot's temperature summary up to the handover, as ``shipment_pod.temperature`` keeps
    it (°C, minutes; None: not known): what the receiver sees when signing."""
    return {
        "probes": list(figures.probes),
        "readings": figures.readings,
        "min_c": figures.min_c,
        "max_c": figures.max_c,
        "mkt_c": figures.mkt_c,
        "tor_min": figures.tor_min,
        "tor_budget_min": figures.tor_budget_min,
        "excursions": figures.excursions,
        "longest_excursion_min": figures.longest_excursion_min,
        "hard_limit_passed": figures.hard_limit_passed,
        "sensor_fault_min": figures.sensor_fault_min,
        "coverage": figures.coverage,
        "carriage_min": figures.carriage_min,
    }


# ---- the record's and the table's form ----------------------------------------------------------


def pod_document(pod: ProofOfDelivery) -> dict[str, Any]:
    """The PoD as JSON (in the record on the ``shipments`` topic)."""
    return {
        "stop_index": pod.stop_index,
        "lot": pod.lot,
        "decision": pod.decision,
        "by": pod.by,
        "name": pod.name,
        "at": pod.at.isoformat(),
        "note": pod.note,
    }


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        raise ShipmentError(f"{where}.{key}", "missing or not a string")
    return value


def pod_from_document(value: Any, where: str) -> ProofOfDelivery:
    """A PoD from :func:`pod_document`'s shape; ``ShipmentError`` (field path first) if not one."""
    if not isinstance(value, Mapping):
        raise ShipmentError(where, "must be an object")
    unknown = sorted(set(value) - {"stop_index", "lot", "decision", "by", "name", "at", "note"})
    if unknown:
        raise ShipmentError(f"{where}.{unknown[0]}", "unknown field")
    index = value.get("stop_index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ShipmentError(f"{where}.stop_index", "missing or not an integer of 0 or more")
    decision = _text(value, "decision", where)
    if decision not in DECISIONS:
        raise ShipmentError(f"{where}.decision", f"{decision!r} is not one of accepted, rejected")
    raw_at = _text(value, "at", where)
    try:
        at = datetime.fromisoformat(raw_at)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or at.utcoffset() is None:
        raise ShipmentError(f"{where}.at", f"{raw_at!r} is not an ISO 8601 datetime with offset")
    note = value.get("note", "")
    if not isinstance(note, str):
        raise ShipmentError(f"{where}.note", "not a string")
    return ProofOfDelivery(
        stop_index=index,
        lot=_text(value, "lot", where),
        decision="accepted" if decision == "accepted" else "rejected",
        by=_text(value, "by", where),
        name=_text(value, "name", where),
        at=at,
        note=note,
    )


def check_pods_fit(shipment: Shipment, pods: Iterable[ProofOfDelivery], where: str) -> None:
    """Refuse PoDs that do not belong to the shipment: an unknown lot, a lot signed twice, or a
    stop that is not the lot's handover (a record read back must make sense)."""
    seen: set[str] = set()
    for i, pod in enumerate(pods):
        if shipment.lot(pod.lot) is None:
            raise ShipmentError(f"{where}[{i}].lot", f"{pod.lot!r} is not a lot of the shipment")
        if pod.lot in seen:
            raise ShipmentError(f"{where}[{i}].lot", f"{pod.lot!r} has two PoDs; keep one")
        seen.add(pod.lot)
        if pod.stop_index != handover_stop(shipment, pod.lot):
            raise ShipmentError(
                f"{where}[{i}].stop_index",
                f"{pod.stop_index} is not where lot {pod.lot!r} is handed over",
            )
