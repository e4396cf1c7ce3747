"""A truck's temperature alarms held during an operating mode (issue 18): pure, one probe at a time.

While a mode (pre-cooling, maintenance, washout: :class:`~logistream.modes.wire.ModeRecord`) is
active at a reading's EVENT time, the temperature-family rules (:data:`HELD_RULES`) of that truck
do not open alerts: a rule that would have opened is recorded once, as an alert change in the
state ``suppressed`` with its own id (the would-be id + ``:held:`` + mode id, so it never collides
with a real alert), and published like any change. The mode ends by itself at its end time (or
when ended early): judged by the readings' event time, so a replay gives the same answer.

Choices where the issue is silent:

- **A shadow air state per (probe, mode).** During the mode the cargo-air rules run on a shadow
  (:class:`HeldAir`) started fresh at the mode's first reading of the probe: excursion timers and
  time out of range count the mode's own readings, with the normal alarm delays, so "temp_high
  would have opened at 15.2 °C" is said when it really would have, and each rule is recorded once
  per (rule, probe, mode), not per reading. A held rule's resolution in the shadow says nothing
  (there is no alert to resolve).
- **Plausibility goes on.** ``sensor_fault`` and ``calibration_overdue`` are about the probe, not
  the cargo's temperature: they open and resolve as usual during a mode (the plausibility state
  passes from the live state to the shadow and back). Door, fuel, driving, route and offline
  rules are not touched.
- **An alert already open when the mode starts stays as it is**: the mode neither resolves nor
  re-raises it, and it can be acknowledged. Its rule's timer is kept through the mode, so the
  first reading after the mode resolves it if the air is back in range.
- **After the mode the live air state starts fresh** from the next reading (as a new trip does):
  excursion timers, defrost and the trend window restart, so a real excursion after the mode
  alarms with its normal delays. Time out of range during the mode is not counted: the trip's
  time out of range before the mode is kept and the first reading after it adds no interval.
- **Late readings** (a silence's spool) whose event time falls in a mode are accepted and
  archived but not evaluated by the late-reading rules (:mod:`backfill`): their temperature
  alarms would be held anyway, and the shadow already judged the mode's live readings.
- **The hold follows the reading's time, not the processing time**, both ways. The modes feed
  hands the engine the truck's modes (:class:`ModeHistory`: the newest record and the earlier
  ones it has read), and :func:`active` picks the one active at the reading's event time: a
  late reading from an earlier mode is held after a newer mode was set, and a late reading from
  before a mode began is evaluated as usual even while the mode runs.
- **A mode learned after readings inside it** (its record reached this processor after
  readings, live or late, whose event time is past its start): a temperature alarm those
  readings opened would have been held, so when the mode arrives (:func:`held_late`) each open
  temperature-family alert whose opening reading falls in the mode is resolved ("held: ...")
  and recorded as suppressed with the rule it fired (the same id + ``:held:`` + mode id, once).
  It may have been notified meanwhile: the resolution says why it ended. The live state those
  readings advanced is kept (its timers restart after the mode, as always).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

import msgspec

from logistream import display_time
from logistream.events import Alert, Severity
from logistream.modes.wire import ModeRecord
from logistream.speed import alerts as lifecycle
from logistream.speed.messages import who
from logistream.speed.rules.base import Clear, Raise, Verdict
from logistream.speed.rules.temperature import TempState
from logistream.speed.rules.trend import TrendState

HELD_RULES: Final = frozenset(
    {"temp_high", "temp_low", "temp_critical", "temp_rising", "tor_budget"}
)
"""The temperature family: the rules a mode holds."""

SUPPRESSED: Final = "suppressed"
HELD_MARK: Final = ":held:"


class HeldAir(msgspec.Struct, frozen=True, kw_only=True):
    """One probe's cargo air during one mode: the shadow state its rules run on, and the held
    rules already recorded as suppressed (each once per mode)."""

    mode_id: str
    temp: TempState = TempState()
    trend: TrendState = TrendState()
    held: tuple[str, ...] = ()


class ModeHistory(ModeRecord, frozen=True, kw_only=True):
    """A truck's newest mode record (its own fields) with every mode of the truck the feed has
    read (``modes``, newest start first, the newest included): what the modes feed hands the
    engine for a reading, so :func:`active` finds the mode of the reading's event time."""

    modes: tuple[ModeRecord, ...] = ()


def history(records: Iterable[ModeRecord]) -> ModeHistory | None:
    """The truck's modes as one :class:`ModeHistory` (None: no mode); the newest start leads."""
    ordered = tuple(sorted(records, key=lambda m: (m.starts_at, m.mode_id), reverse=True))
    if not ordered:
        return None
    return ModeHistory(**msgspec.structs.asdict(ordered[0]), modes=ordered)


def plain(mode: ModeRecord) -> ModeRecord:
    """The record itself (a :class:`ModeHistory` names its newest record)."""
    if type(mode) is ModeRecord:
        return mode
    fields = msgspec.structs.asdict(mode)
    fields.pop("modes", None)
    return ModeRecord(**fields)


def active(mode: ModeRecord | None, at: float) -> ModeRecord | None:
    """The mode active at event time ``at``: ``mode`` itself, or for a :class:`ModeHistory` the
    one of the truck's modes active then (a plain record, as the truck's state keeps it)."""
    if mode is None:
        return None
    if isinstance(mode, ModeHistory):
        for each in mode.modes:
            if each.active_at(at):
                return each
        return None
    return mode if mode.active_at(at) else None


def start(live: TempState, mode_id: str) -> HeldAir:
    """The shadow at the mode's first reading: fresh timers and time out of range, the live
    plausibility state carried on (``sensor_fault`` is not held)."""
    return HeldAir(mode_id=mode_id, temp=TempState(plaus=live.plaus, tor_trip=live.tor_trip))


def resumed(
    live: TempState, trend: TrendState, held: HeldAir, open_rules: Container[str]
) -> tuple[TempState, TrendState]:
    """The live air state for the first reading after the mode (``open_rules``: the probe's open
    alerts' rules). Fresh, except the timer of an alert open since before the mode (so it can
    resolve), the trip's time out of range before the mode, and plausibility from the shadow."""
    critical = live.critical and "temp_critical" in open_rules
    temp = TempState(
        high_since=live.high_since if "temp_high" in open_rules else None,
        low_since=live.low_since if "temp_low" in open_rules else None,
        critical=critical,
        crit_since=live.crit_since if critical else None,
        crit_n=live.crit_n if critical else 0,
        # Its end is timed from its last reading beyond the limit, as without the mode.
        crit_last=live.crit_last if critical else None,
        crit_back_n=live.crit_back_n if critical else 0,
        # The interval up to the first reading after the mode is the mode's: not counted.
        out_of_range=False,
        tor_s=live.tor_s,
        tor_trip=live.tor_trip,
        plaus=held.temp.plaus,
    )
    warning = trend.warning and "temp_rising" in open_rules
    return temp, TrendState(warning=warning)


def split(verdicts: Iterable[Verdict]) -> tuple[list[Verdict], list[Raise]]:
    """The verdicts that apply to the truck's alerts as usual, and the held rules' raises (the
    held rules' clears say nothing during a mode)."""
    applied: list[Verdict] = []
    would: list[Raise] = []
    for verdict in verdicts:
        if verdict.rule not in HELD_RULES:
            applied.append(verdict)
        elif isinstance(verdict, Raise):
            would.append(verdict)
        else:
            assert isinstance(verdict, Clear)
    return applied, would


def until_text(mode: ModeRecord, at: float, timezone: str) -> str:
    """``18:00 EAT`` (the mode's end, in the display zone), with its date when not the day of
    ``at``."""
    end = min(mode.ends_at, mode.ended_at if mode.ended_at is not None else mode.ends_at)
    local_end = display_time.in_zone(end, timezone)
    local_at: datetime = display_time.in_zone(at, timezone)
    pattern = "%H:%M %Z" if local_end.date() == local_at.date() else "%Y-%m-%d %H:%M %Z"
    return local_end.strftime(pattern)


def held_id(truck_id: str, rule: str, event_id: str, mode_id: str) -> str:
    """The suppressed change's id: the id the alert would have had, marked as held in the mode."""
    return f"{lifecycle.alert_id_for(truck_id, rule, event_id)}{HELD_MARK}{mode_id}"


def hold(
    held: HeldAir,
    would: Sequence[Raise],
    mode: ModeRecord,
    at: lifecycle.Where,
    severity: Mapping[str, Severity] | None = None,
    timezone: str = display_time.DEFAULT_ZONE_NAME,
) -> tuple[HeldAir, list[Alert]]:
    """The suppressed changes of the raises not yet recorded in this mode, and ``held`` after."""
    if not would:
        return held, []
    recorded = list(held.held)
    made: list[Alert] = []
    r = at.reading
    for verdict in would:
        if verdict.rule in recorded:
            continue
        recorded.append(verdict.rule)
        message = (
            f"held: {at.who} in {mode.kind} mode ({mode.reason}) until "
            f"{until_text(mode, verdict.at, timezone)}; {verdict.rule} would have opened "
            f"{verdict.what}{at.near}" + (f" — {verdict.detail}" if verdict.detail else "")
        )
        made.append(
            Alert(
                alert_id=held_id(r.truck_id, verdict.rule, verdict.event_id, mode.mode_id),
                truck_id=r.truck_id,
                rule=verdict.rule,
                severity=verdict.severity or (severity or {}).get(verdict.rule, "major"),
                state=SUPPRESSED,
                opened_at=verdict.at,
                changed_at=verdict.at,
                message=message,
                trip_id=r.trip_id,
                cargo=r.cargo,
                value=verdict.value,
                threshold=verdict.threshold,
                lat=r.lat,
                lon=r.lon,
                probe_id=at.probe_id,
            )
        )
    return msgspec.structs.replace(held, held=tuple(recorded)), made


def held_late(
    alerts: Mapping[str, Alert],
    mode: ModeRecord,
    at: float,
    timezone: str = display_time.DEFAULT_ZONE_NAME,
) -> tuple[dict[str, Alert], list[Alert], dict[str, tuple[str, ...]]]:
    """A mode learned after readings inside it: the truck's alerts after, the changes (each
    temperature-family alert opened inside the mode resolved at ``at``, the truck's newest event
    time, and recorded as suppressed), and the rules so held per probe ("" the single probe)."""
    kept: dict[str, Alert] = {}
    made: list[Alert] = []
    rules: dict[str, tuple[str, ...]] = {}
    for key, alert in alerts.items():
        if alert.rule not in HELD_RULES or not mode.active_at(alert.opened_at):
            kept[key] = alert
            continue
        until = until_text(mode, alert.opened_at, timezone)
        made.append(
            msgspec.structs.replace(
                alert,
                state="resolved",
                changed_at=at,
                resolved_at=at,
                message=(
                    f"Resolved: held: {who(alert.truck_id, alert.cargo, alert.probe_id)} is in "
                    f"{mode.kind} mode ({mode.reason}) until {until}, set before this alert "
                    "opened but known to the speed layer after; its temperature alarms are held"
                ),
            )
        )
        made.append(
            msgspec.structs.replace(
                alert,
                alert_id=f"{alert.alert_id}{HELD_MARK}{mode.mode_id}",
                state=SUPPRESSED,
                changed_at=alert.opened_at,
                acknowledged_by=None,
                ack_note=None,
                message=f"held: in {mode.kind} mode ({mode.reason}) until {until}; "
                f"{alert.rule} would have opened: {alert.message}",
            )
        )
        probe = alert.probe_id or ""
        rules[probe] = (*rules.get(probe, ()), alert.rule)
    return kept, made, rules
