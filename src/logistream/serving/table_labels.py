"""Tables for people (pure): the history pages' rows with labelled columns, units and words.

The reads hand over database rows (``mkt_c``, ``tor_min``, ``idling_s``, route ids, epoch
seconds, NULLs). A person needs "MKT (°C)", "3 h 05 min", the route's name, a local time, at
most two decimals, and for a missing figure the reason it is missing, not "None". One catalogue
of the columns the pages show says how each is labelled and formatted; a column the batch layer
adds later still gets a label and a unit from its name's suffix (``_s``, ``_c``, ``_km``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from logistream.registry import Registry
from logistream.serving.alerts_data import place
from logistream.serving.live_data import local_time

DASH: Final = "—"


class Kind(Enum):
    """How a column's values are shown."""

    TEXT = "text"
    WORDS = "words"  # a code word (``on_time``) read out (``on time``)
    NUMBER = "number"
    COUNT = "count"
    SECONDS = "seconds"  # a duration in seconds, shown as "3 h 05 min"
    MINUTES = "minutes"  # a duration in minutes, the same
    TIME = "time"  # epoch seconds, shown in the display time zone
    FLAG = "flag"
    ROUTE = "route"  # a registry route name, shown as its label
    CARGO = "cargo"  # a registry cargo profile name, shown as its label
    MKT = "mkt"  # °C; missing for a reason that depends on the row's cargo profile


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    kind: Kind = Kind.TEXT
    decimals: int = 1
    """Temperatures keep two, so 12.01 °C is never shown as 12.0 beside a 12 °C limit."""
    missing: str = DASH
    """What a missing value means, in words."""


COLUMNS: Final[dict[str, Column]] = {
    # Trips (audit and archive)
    "trip_id": Column("Trip"),
    "truck_id": Column("Truck"),
    "cargo": Column("Cargo", Kind.CARGO),
    "route": Column("Route", Kind.ROUTE, missing="not in the fleet registry"),
    "driver_id": Column("Driver", missing="not sent"),
    "driver": Column("Driver", missing="not sent"),
    "verdict": Column("Verdict", missing="not audited"),
    "reason": Column("Why"),
    "mkt_c": Column("MKT (°C)", Kind.MKT, decimals=2),
    "tor_min": Column("Time out of range", Kind.MINUTES),
    "tor_s": Column("Time out of range", Kind.SECONDS),
    "excursions": Column("Excursions", Kind.COUNT),
    "min_c": Column("Lowest (°C)", Kind.NUMBER, decimals=2),
    "max_c": Column("Highest (°C)", Kind.NUMBER, decimals=2),
    "mean_c": Column("Mean (°C)", Kind.NUMBER, decimals=2),
    "readings": Column("Readings", Kind.COUNT),
    "started": Column("Started", Kind.TIME),
    "ended": Column("Ended", Kind.TIME),
    "last_reading": Column("Last reading", Kind.TIME),
    # Excursions
    "kind": Column("Kind", Kind.WORDS),
    "start": Column("From", Kind.TIME),
    "end": Column("To", Kind.TIME),
    "ongoing": Column("Still out at the trip's end", Kind.FLAG),
    "minutes": Column("Duration", Kind.MINUTES),
    "minutes_out": Column("Time out of range", Kind.MINUTES),
    "peak_c": Column("Peak (°C)", Kind.NUMBER, decimals=2),
    "alarm_at": Column("Alarm due at", Kind.TIME, missing="none (shorter than the alarm delay)"),
    # Reconciliation
    "status": Column("Status", Kind.WORDS),
    "rule": Column("Rule", Kind.WORDS),
    "excursion_start": Column("Excursion started", Kind.TIME, missing="no excursion"),
    "alert_opened": Column("Alert opened", Kind.TIME, missing="no alert"),
    "late_s": Column("Alert late by", Kind.SECONDS),
    "alert_id": Column("Alert id"),
    # Fuel efficiency
    "trips": Column("Trips", Kind.COUNT),
    "distance_km": Column("Distance (km)", Kind.NUMBER),
    "consumed_l": Column("Fuel used (L)", Kind.NUMBER),
    "l_per_100km": Column(
        "Fuel (L per 100 km)", Kind.NUMBER, missing="not computed (under 1 km or no fuel level)"
    ),
    "refuels": Column("Refuels", Kind.COUNT),
    "refuelled_l": Column("Refuelled (L)", Kind.NUMBER),
    "thefts": Column("Suspected thefts", Kind.COUNT),
    "stolen_l": Column("Suspected stolen (L)", Kind.NUMBER),
    "reefer_l_per_h": Column(
        "Reefer fuel when parked (L/h)", Kind.NUMBER, decimals=2, missing="not measured"
    ),
    # Driver scorecards
    "harsh_brakes": Column("Harsh brakings", Kind.COUNT),
    "harsh_accels": Column("Harsh accelerations", Kind.COUNT),
    "brakes_per_100km": Column("Harsh brakings per 100 km", Kind.NUMBER),
    "accels_per_100km": Column("Harsh accelerations per 100 km", Kind.NUMBER),
    "speeding_s": Column("Time speeding", Kind.SECONDS),
    "idling_s": Column("Time idling", Kind.SECONDS),
    "driving_s": Column("Time driving", Kind.SECONDS),
    "score": Column("Score (0–100)", Kind.NUMBER, missing="not scored (no distance)"),
    # Thefts
    "litres": Column("Fuel lost (L)", Kind.NUMBER),
    "unexplained_l": Column("Unexplained by driving (L)", Kind.NUMBER),
    "opened": Column("Opened", Kind.TIME),
    "state": Column("State", Kind.WORDS),
    "value": Column("Value", Kind.NUMBER),
    "threshold": Column("Limit", Kind.NUMBER),
    "message": Column("Message"),
    "avg_fuel": Column("Average fuel level (% of tank)", Kind.NUMBER),
}
"""Every column the Audits and Fleet analytics pages show, by its database name."""

# A column not in the catalogue: its unit and kind from the name's suffix.
SUFFIXES: Final[tuple[tuple[str, str, Kind], ...]] = (
    ("_per_100km", "per 100 km", Kind.NUMBER),
    ("_l_per_h", "(L/h)", Kind.NUMBER),
    ("_kmh", "(km/h)", Kind.NUMBER),
    ("_km", "(km)", Kind.NUMBER),
    ("_c", "(°C)", Kind.NUMBER),
    ("_l", "(L)", Kind.NUMBER),
    ("_s", "", Kind.SECONDS),
    ("_min", "", Kind.MINUTES),
    ("_at", "", Kind.TIME),
    ("_id", "", Kind.TEXT),
)

# The place a row happened, from its lat/lon pair, in one column.
WHERE: Final = "Where"


def column_for(name: str) -> Column:
    """The catalogue's column, or one made from the name (``gap_s`` -> "Gap", a duration)."""
    known = COLUMNS.get(name)
    if known is not None:
        return known
    for suffix, unit, kind in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            words = name[: -len(suffix)].replace("_", " ").capitalize()
            decimals = 2 if suffix == "_c" else 1
            return Column(f"{words} {unit}".strip(), kind, decimals)
    return Column(name.replace("_", " ").capitalize())


def number_text(value: float, decimals: int = 2) -> str:
    """At most ``decimals`` decimals, none trailing: 12.01 stays 12.01, 35.0 is 35."""
    text = f"{value:.{decimals}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def duration_text(seconds: float | None) -> str:
    """A duration for people: "45 s", "12 min", "3 h 05 min" (negative: "-12 min")."""
    if seconds is None:
        return DASH
    if seconds < 0:
        return "-" + duration_text(-seconds)
    if 0 < seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


def mkt_missing(mkt_enabled: bool) -> str:
    """Why a trip has no MKT, in words. The batch view leaves MKT NULL for a cargo profile with
    ``mkt = false`` (frozen goods: the Arrhenius model of degradation in solution, which MKT
    rests on, does not hold for a frozen product), and otherwise only when no plausible
    reading covered any time of the trip."""
    if not mkt_enabled:
        return "not computed (does not apply to frozen goods)"
    return "not computed (no plausible readings)"


@dataclass(frozen=True, slots=True)
class Context:
    """What turns ids and epochs into words: the display time zone and the registry's names."""

    timezone: str
    route_labels: Mapping[str, str] = field(default_factory=dict)
    cargo_labels: Mapping[str, str] = field(default_factory=dict)
    mkt_enabled: Mapping[str, bool] = field(default_factory=dict)
    """Per cargo profile name; a name not listed counts as MKT enabled."""
    where: Callable[[float | None, float | None], str] | None = None


def context_of(registry: Registry, timezone: str) -> Context:
    return Context(
        timezone=timezone,
        route_labels={name: r.label for name, r in registry.routes.items()},
        cargo_labels={name: p.label for name, p in registry.cargo.items()},
        mkt_enabled={name: p.mkt_enabled for name, p in registry.cargo.items()},
        where=lambda lat, lon: place(lat, lon, registry),
    )


def _cell(name: str, column: Column, row: Mapping[str, Any], ctx: Context) -> Any:
    value = row.get(name)
    if value is None:
        if column.kind is Kind.MKT:
            return mkt_missing(ctx.mkt_enabled.get(str(row.get("cargo")), True))
        return column.missing
    match column.kind:
        case Kind.NUMBER | Kind.MKT:
            return round(float(value), column.decimals)
        case Kind.COUNT:
            return int(value)
        case Kind.SECONDS:
            return duration_text(float(value))
        case Kind.MINUTES:
            return duration_text(float(value) * 60)
        case Kind.TIME:
            return local_time(float(value), ctx.timezone)
        case Kind.FLAG:
            return "yes" if value else "no"
        case Kind.WORDS:
            return str(value).replace("_", " ")
        case Kind.ROUTE:
            return ctx.route_labels.get(str(value), str(value))
        case Kind.CARGO:
            return ctx.cargo_labels.get(str(value), str(value))
        case _:
            return value


def for_people(
    records: Sequence[Mapping[str, Any]],
    ctx: Context,
    labels: Mapping[str, str] | None = None,
    hide: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The rows with every column labelled for people, in the reads' order.

    ``labels`` overrides the catalogue's label of a column for one table (``value`` is the fuel
    lost of a theft alert here); ``hide`` drops columns. A ``lat``/``lon`` pair becomes one
    "Where" column (the nearest named place) when the context knows the places. A numeric
    column with a missing value is shown as text throughout, so the missing one can say why.
    """
    out: list[dict[str, Any]] = []
    for row in records:
        shown: dict[str, Any] = {}
        for name in row:
            if name in hide:
                continue
            if name in ("lat", "lon") and ctx.where is not None and "lat" in row and "lon" in row:
                if name == "lat":
                    shown[WHERE] = ctx.where(row["lat"], row["lon"])
                continue
            column = column_for(name)
            label = (labels or {}).get(name, column.label)
            shown[label] = _cell(name, column, row, ctx)
        out.append(shown)
    return _uniform(out)


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A data frame column holds one type: numbers beside a "not computed" become text too.
    mixed = {
        label
        for label in (rows[0] if rows else {})
        if any(isinstance(r.get(label), str) for r in rows)
        and any(isinstance(r.get(label), int | float) for r in rows)
    }
    for row in rows:
        for label in mixed:
            value = row.get(label)
            if isinstance(value, int | float) and not isinstance(value, bool):
                row[label] = number_text(float(value))
    return rows


def chart_rows(
    records: Sequence[Mapping[str, Any]],
    key: str,
    value: str,
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Bars for a chart: ``{"name", "value"}`` per row that has a value (a missing one is not a
    zero bar), names through ``names`` (route ids to their labels), rounded to two decimals."""
    return [
        {
            "name": (names or {}).get(str(r[key]), str(r[key])),
            "value": round(float(r[value]), 2),
        }
        for r in records
        if r.get(value) is not None and r.get(key) is not None
    ]
