"""Helpers the routes share: fast JSON answers and conversions of stored values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final

import msgspec
from fastapi import Path, Request
from fastapi.responses import Response

from logistream.api.backends import Backends
from logistream.events import Alert
from logistream.live_views import TruckView

_encoder: Final = msgspec.json.Encoder()

# PostgreSQL text refuses NUL; ids are short. A bad id is a 422, never a server error.
ID_PATTERN: Final = r"^[^\x00]+$"
TruckIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The truck's id.")
]
TripIdPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="The trip's id.")
]


def encode(data: Any) -> bytes:
    return _encoder.encode(data)


def json_response(data: Any, status_code: int = 200) -> Response:
    """Encoded with msgspec straight from plain data (no per-field validation on the way out)."""
    return Response(_encoder.encode(data), status_code=status_code, media_type="application/json")


def backends(request: Request) -> Backends:
    found: Backends = request.app.state.backends
    return found


def plain(value: Any) -> Any:
    """Stored values as JSON values: times as epoch seconds, decimals as numbers."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def truck_dict(view: TruckView) -> dict[str, Any]:
    return {
        "truck_id": view.truck_id,
        "status": view.status,
        "reading": msgspec.to_builtins(view.reading),
        "alerts": [
            {"alert_id": a.alert_id, "rule": a.rule, "severity": a.severity, "state": a.state}
            for a in view.alerts
        ],
        "updated_at": view.updated_at,
        "probes": [
            {"probe_id": p.probe_id, "temp": p.temp, "timestamp": p.timestamp} for p in view.probes
        ],
    }


def alert_dict(alert: Alert) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(alert)
    return out
