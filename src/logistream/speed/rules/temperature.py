"""Temperature excursions per cargo profile: high, low, critical (hard limit) and time out of range.

An excursion starts at the first reading beyond a limit and lasts until a reading comes back
inside by the profile's hysteresis, so a reading hovering on the limit neither flaps nor resets
the alarm delay. A flagged defrost widens the upper limit by the profile's allowance, for at most
its maximum duration.

A critical is confirmed before it opens: the hard limit must be passed by at least
``critical_confirm_readings`` plausible readings of the same excursion (readings in the
hysteresis band neither count nor reset) and for at least ``critical_confirm_s``, so one reading
cannot wake a person. A reading that failed the plausibility check is stepped with the
temperature last seen (it counts time, it confirms nothing).

Its end is confirmed too: the excursion (and an open ``temp_critical``) ends at the
``critical_confirm_readings``-th plausible reading inside the hard limits by the hysteresis since
the last reading beyond one, if that reading is also at least ``critical_clear_s`` after that
last reading beyond (band readings neither count nor reset; a reading beyond the limit starts
the count afresh). A dip shorter than that keeps the alert open instead of resolving it and
opening a second one for the same excursion. The count is the start's, but the time is a
setting of its own (5 min shipped, where the start's is 0): the reefer_failure run (seed 42,
15:35 UTC, 1 Hz) hovers on 12 °C with 0.05 °C of noise, and its readings touch the hysteresis
(11.7 °C) once, 32 s after 12.03 °C, and again 17 s later, between readings in the band: the
start's count of two ends it there, and the air was past the limit again 32 s later. A time
not seen past the limit tells such hovering from a return. The costs differ too: a start
confirmed late delays a wake-up, an end confirmed late only a "resolved" (and a false one tells
people the cargo is safe). Time is counted from the last
reading beyond the limit: the batch pass gets it with one running maximum in a window step it
already has (:mod:`logistream.batch.views.pass_sql`), where the time since the first reading
back inside would cost it another step. An excursion that never confirmed its critical ends
the same way, so the count to its confirmation runs on across such a dip;
:mod:`logistream.coldchain.excursions` does the same for the batch views.
"""

from __future__ import annotations

import msgspec

from logistream.events import Reading
from logistream.registry import CargoProfile
from logistream.schema.trip_key import trip_key
from logistream.speed.rules.base import (
    NO_VERDICTS,
    Clear,
    Raise,
    RuleContext,
    Verdict,
    beyond,
    minutes,
)
from logistream.speed.rules.plausibility import PlausState


class TempState(msgspec.Struct, frozen=True, kw_only=True):
    high_since: float | None = None
    """Event time of the first reading of the current excursion above the range."""
    low_since: float | None = None
    critical: bool = False
    """Whether ``temp_critical`` is open."""
    crit_since: float | None = None
    """Event time of the first reading of the current excursion beyond a hard limit."""
    crit_n: int = 0
    """Plausible readings beyond the hard limit in that excursion."""
    defrost_since: float | None = None
    out_of_range: bool = False
    """Whether the previous reading was outside the range (its time until now counts)."""
    tor_s: float = 0.0
    """Time out of range on the current trip."""
    tor_trip: str | None = None
    """The trip (:func:`trip_key`) the time out of range counts for."""
    plaus: PlausState = PlausState()
    """The sensor plausibility check's state (kept here: it gates these rules)."""
    crit_last: float | None = None
    """Event time of the excursion's last reading beyond a hard limit (None with ``crit_since``
    set: a state from before this field, counted from ``crit_since``)."""
    crit_back_n: int = 0
    """Plausible readings inside the hard limits by the hysteresis since that reading."""


def _range_text(profile: CargoProfile) -> str:
    if profile.name == "default":
        return f"limit {profile.high_c:g} °C"
    return f"range {profile.low_c:g}–{profile.high_c:g} °C"


def _for(seconds: float) -> str:
    m = minutes(seconds)
    return f" for {m} min" if m else ""


def step(
    s: TempState, r: Reading, prev_ts: float | None, ctx: RuleContext, *, plausible: bool = True
) -> tuple[TempState, tuple[Verdict, ...]]:
    """Advance the temperature state by one in-order reading (``plausible`` False: a reading
    carrying the last plausible temperature in place of an implausible one)."""
    p = ctx.profile
    t, ts = r.temp, r.timestamp
    defrost_since = (s.defrost_since if s.defrost_since is not None else ts) if r.defrost else None
    in_defrost = defrost_since is not None and ts - defrost_since <= p.defrost_max_s
    high = p.high_c + p.defrost_allowance_c if in_defrost else p.high_c
    above, below = t > high, t < p.low_c

    verdicts: list[Verdict] = []

    # Time out of range, per trip: the interval since the previous reading counts when that
    # reading was out of range (capped, so a long silence is not all counted).
    tor_s, tor_trip = s.tor_s, s.tor_trip
    trip = trip_key(r.trip_id, ts)
    if trip != s.tor_trip:
        if p.tor_budget_s > 0 and s.tor_s >= p.tor_budget_s:
            verdicts.append(Clear("tor_budget", ts, f"started trip {r.trip_id or '(none)'}"))
        tor_s, tor_trip = 0.0, trip
    elif s.out_of_range and prev_ts is not None:
        tor_s += min(ts - prev_ts, ctx.config.temperature.tor_max_gap_s)
        if p.tor_budget_s > 0 and s.tor_s < p.tor_budget_s <= tor_s:
            verdicts.append(
                Raise(
                    "tor_budget",
                    r.event_id or "",
                    ts,
                    f"out of range {minutes(tor_s)} min on this trip",
                    f"budget {minutes(p.tor_budget_s)} min ({_range_text(p)})",
                    value=tor_s / 60.0,
                    threshold=p.tor_budget_s / 60.0,
                )
            )

    # Above the range.
    if s.high_since is None:
        high_since = ts if above else None
    elif t <= high - p.hysteresis_c:
        high_since = None
        verdicts.append(
            Clear("temp_high", ts, f"back to {t:.1f} °C after {minutes(ts - s.high_since)} min")
        )
    else:
        high_since = s.high_since
    if high_since is not None and above and ts - high_since >= p.alarm_delay_high_s:
        verdicts.append(
            Raise(
                "temp_high",
                r.event_id or "",
                ts,
                f"at {beyond(t, high, above=True)} °C{_for(ts - high_since)}",
                _range_text(p),
                value=t,
                threshold=high,
            )
        )

    # Below the range.
    if s.low_since is None:
        low_since = ts if below else None
    elif t >= p.low_c + p.hysteresis_c:
        low_since = None
        verdicts.append(
            Clear("temp_low", ts, f"back to {t:.1f} °C after {minutes(ts - s.low_since)} min")
        )
    else:
        low_since = s.low_since
    if low_since is not None and below and ts - low_since >= p.alarm_delay_low_s:
        verdicts.append(
            Raise(
                "temp_low",
                r.event_id or "",
                ts,
                f"at {beyond(t, p.low_c, above=False)} °C{_for(ts - low_since)}",
                _range_text(p),
                value=t,
                threshold=p.low_c,
            )
        )

    # Hard limits: critical once confirmed, whatever the alarm delay or defrost.
    hard_hi, hard_lo = p.hard_high_c, p.hard_low_c
    past_hard = (hard_hi is not None and t > hard_hi) or (hard_lo is not None and t < hard_lo)
    critical, crit_since, crit_n = s.critical, s.crit_since, s.crit_n
    crit_last, crit_back_n = s.crit_last, s.crit_back_n
    conf = ctx.config.temperature
    confirmed = False
    if past_hard:
        crit_since = ts if crit_since is None else crit_since
        crit_n += 1 if plausible else 0
        crit_last, crit_back_n = ts, 0
        confirmed = plausible and (
            crit_n >= conf.critical_confirm_readings and ts - crit_since >= conf.critical_confirm_s
        )
    if past_hard and (critical or confirmed):
        critical = True
        limit = hard_hi if hard_hi is not None and t > hard_hi else hard_lo
        assert limit is not None  # past_hard: one of the two is passed
        side = "above" if limit == hard_hi else "below"
        verdicts.append(
            Raise(
                "temp_critical",
                r.event_id or "",
                ts,
                f"at {beyond(t, limit, above=side == 'above')} °C, {side} the hard limit of "
                f"{limit:g} °C",
                "cargo at risk now",
                value=t,
                threshold=limit,
            )
        )
    elif (
        crit_since is not None
        and not past_hard
        and (hard_hi is None or t <= hard_hi - p.hysteresis_c)
        and (hard_lo is None or t >= hard_lo + p.hysteresis_c)
    ):
        # Back inside: the end is confirmed as the start was (see the module docstring).
        crit_back_n += 1 if plausible else 0
        last = crit_last if crit_last is not None else crit_since
        if (
            plausible
            and crit_back_n >= conf.critical_confirm_readings
            and ts - last >= conf.critical_clear_s
        ):
            crit_since, crit_n, crit_last, crit_back_n = None, 0, None, 0
            if s.critical:
                critical = False
                verdicts.append(
                    Clear("temp_critical", ts, f"back to {t:.1f} °C, inside the hard limits")
                )

    state = TempState(
        high_since=high_since,
        low_since=low_since,
        critical=critical,
        crit_since=crit_since,
        crit_n=crit_n,
        defrost_since=defrost_since,
        out_of_range=above or below,
        tor_s=tor_s,
        tor_trip=tor_trip,
        plaus=s.plaus,
        crit_last=crit_last,
        crit_back_n=crit_back_n,
    )
    return state, tuple(verdicts) if verdicts else NO_VERDICTS
