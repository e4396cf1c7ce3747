"""The body of ``POST /v1/shipments`` read into a validated ``Shipment`` (pure).

The body is the shipment file's table as JSON; ``parse_shipment`` validates it, the same code
as ``logistream shipments create``, so a refusal is the same one line (field, then the fix).
Before that, values PostgreSQL or the parser cannot take are refused with their path, so a
request never fails inside the store: NUL characters and lone surrogates in strings,
non-finite numbers, integers beyond what a float keeps exactly, and an id longer than the
table allows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from logistream.registry import Registry
from logistream.shipments.errors import ShipmentError
from logistream.shipments.model import Shipment
from logistream.shipments.parse import parse_shipment

MAX_ID: Final = 128
"""Longest shipment id (the ``shipments`` table's check)."""
_MAX_INT: Final = 2**53


class NotJson(ValueError):
    """The body is not UTF-8 JSON (an HTTP 400, not a refused shipment)."""


def _constant(name: str) -> Any:
    raise NotJson(f"{name} is not JSON; numbers must be finite")


def decode_json(body: bytes) -> Any:
    """The decoded body; :class:`NotJson` with a sentence when it is not UTF-8 JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_constant)
    except NotJson:
        raise
    except UnicodeDecodeError as error:
        raise NotJson(f"the body is not UTF-8 ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise NotJson(f"the body is not JSON ({error.msg} at line {error.lineno})") from None
    except (ValueError, RecursionError) as error:  # too many digits, nested too deep
        raise NotJson(f"the body cannot be read as JSON ({error.__class__.__name__})") from None


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise ShipmentError(where or "body", "contains a NUL character; remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ShipmentError(
            where or "body", "contains a lone surrogate; send valid UTF-8"
        ) from None


def check_storable(value: Any, where: str = "") -> None:
    """Refuse a value PostgreSQL cannot store, naming its path (``stops[1].name``)."""
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise ShipmentError(where or "body", f"{value} is too large a number")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ShipmentError(where or "body", f"{value!r} is not a finite number")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_text(str(key), where)
            check_storable(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_storable(item, f"{where}[{index}]")


def read_shipment(data: Any, registry: Registry) -> Shipment:
    """The shipment the decoded body describes, or ``ShipmentError`` (field, fix)."""
    if not isinstance(data, Mapping):
        raise ShipmentError("body", "must be a JSON object: the shipment file's table")
    check_storable(data)
    shipment = parse_shipment(data, registry)
    if len(shipment.shipment_id) > MAX_ID:
        raise ShipmentError("shipment_id", f"is {len(shipment.shipment_id)} characters; use at "
                            f"most {MAX_ID}")  # fmt: skip
    return shipment
