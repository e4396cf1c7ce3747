"""Alert and trip filters (pure): the same filter in Python (live alerts from Redis) and SQL
(history from the archive), so both answer a query the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from logistream.events import Alert


@dataclass(frozen=True, slots=True)
class AlertFilter:
    truck: str | None = None
    rule: str | None = None
    severity: str | None = None
    state: str | None = None
    since: float | None = None
    """Epoch seconds, inclusive: on ``opened_at`` (live) or ``changed_at`` (history)."""
    until: float | None = None
    """Epoch seconds, exclusive."""

    def check(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since (both are Unix epoch seconds)")


def matches(alert: Alert, f: AlertFilter) -> bool:
    """Whether a live alert passes ``f`` (time range on ``opened_at``)."""
    return (
        (f.truck is None or alert.truck_id == f.truck)
        and (f.rule is None or alert.rule == f.rule)
        and (f.severity is None or alert.severity == f.severity)
        and (f.state is None or alert.state == f.state)
        and (f.since is None or alert.opened_at >= f.since)
        and (f.until is None or alert.opened_at < f.until)
    )


def when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def history_where(f: AlertFilter, after: tuple[datetime, str, str] | None) -> tuple[str, list[Any]]:
    """WHERE clause and parameters over ``alert_changes`` for ``f``, after a keyset position
    ``(changed_at, alert_id, state)`` of the newest-first order."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("truck_id", f.truck),
        ("rule", f.rule),
        ("severity", f.severity),
        ("state", f.state),
    ):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if f.since is not None:
        clauses.append("changed_at >= %s")
        params.append(when(f.since))
    if f.until is not None:
        clauses.append("changed_at < %s")
        params.append(when(f.until))
    if after is not None:
        clauses.append("(changed_at, alert_id, state) < (%s, %s, %s)")
        params.extend(after)
    return (" AND ".join(clauses) or "true"), params


@dataclass(frozen=True, slots=True)
class TripFilter:
    truck: str | None = None
    verdict: str | None = None
    since: float | None = None
    """Trips that started at or after this (epoch seconds)."""
    until: float | None = None
    """... and before this."""


def trips_where(f: TripFilter, after: tuple[datetime, str, str] | None) -> tuple[str, list[Any]]:
    """WHERE clause over ``trips t LEFT JOIN trip_compliance c``, newest start first."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.truck is not None:
        clauses.append("t.truck_id = %s")
        params.append(f.truck)
    if f.verdict is not None:
        clauses.append("c.verdict = %s")
        params.append(f.verdict)
    if f.since is not None:
        clauses.append("t.start_time >= %s")
        params.append(when(f.since))
    if f.until is not None:
        clauses.append("t.start_time < %s")
        params.append(when(f.until))
    if after is not None:
        clauses.append("(t.start_time, t.truck_id, t.trip_id) < (%s, %s, %s)")
        params.extend(after)
    return (" AND ".join(clauses) or "true"), params
