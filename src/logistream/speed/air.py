"""The cargo air's rules for one reading: sensor plausibility, then the temperature rules. Pure.

Shared by the live path and the evaluation of late (backfilled) readings, so both judge a
reading the same way.
"""

from __future__ import annotations

import msgspec

from logistream.events import Reading
from logistream.schema.trip_key import trip_key
from logistream.speed.rules import plausibility, temperature
from logistream.speed.rules.base import RuleContext, Verdict


def step(
    s: temperature.TempState, reading: Reading, prev_ts: float | None, ctx: RuleContext
) -> tuple[temperature.TempState, bool, tuple[Verdict, ...]]:
    """The state after ``reading``, whether the reading was plausible, and the verdicts.

    An implausible reading stands for the air as last seen (the last plausible reading's
    temperature), so that time out of range and alarm delays run on as the batch views count
    them; with no plausible reading yet on the trip it changes nothing.
    """
    plaus, plausible, fault = plausibility.step(
        s.plaus,
        profile=ctx.profile,
        temp=reading.temp,
        ts=reading.timestamp,
        door_open=bool(reading.door_open),
        trip=trip_key(reading.trip_id, reading.timestamp),
        event_id=reading.event_id or "",
    )
    if plausible:
        temp_s, rules = temperature.step(s, reading, prev_ts, ctx)
    elif plaus.anchor_c is not None:
        carried = msgspec.structs.replace(reading, temp=plaus.anchor_c)
        temp_s, rules = temperature.step(s, carried, prev_ts, ctx, plausible=False)
    else:
        temp_s, rules = s, ()
    return msgspec.structs.replace(temp_s, plaus=plaus), plausible, (*fault, *rules)
