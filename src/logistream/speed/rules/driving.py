"""Driving: speeding for longer than allowed, harsh braking and harsh acceleration."""

from __future__ import annotations

import msgspec

from logistream.events import Reading
from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, RuleContext, Verdict, beyond


class DrivingState(msgspec.Struct, frozen=True, kw_only=True):
    over_since: float | None = None
    speeding: bool = False
    prev_speed: float | None = None
    prev_ts: float | None = None
    brake_last: float | None = None
    """Event time of the last harsh braking (the alert resolves after a quiet spell)."""
    accel_last: float | None = None


def step(s: DrivingState, r: Reading, ctx: RuleContext) -> tuple[DrivingState, tuple[Verdict, ...]]:
    cfg = ctx.config.driving
    ts, v = r.timestamp, r.speed_kmh
    verdicts: list[Verdict] = []
    brake_last, accel_last = s.brake_last, s.accel_last
    if brake_last is not None and ts - brake_last >= cfg.quiet_s:
        brake_last = None
        verdicts.append(Clear("harsh_braking", ts, "no harsh braking since"))
    if accel_last is not None and ts - accel_last >= cfg.quiet_s:
        accel_last = None
        verdicts.append(Clear("harsh_acceleration", ts, "no harsh acceleration since"))
    if v is None:
        if brake_last is s.brake_last and accel_last is s.accel_last:
            return s, NO_VERDICTS
        return msgspec.structs.replace(s, brake_last=brake_last, accel_last=accel_last), tuple(
            verdicts
        )

    over_since, speeding = s.over_since, s.speeding
    if v > cfg.speed_limit_kmh:
        over_since = over_since if over_since is not None else ts
        if ts - over_since >= cfg.speeding_s:
            speeding = True
            verdicts.append(
                Raise(
                    "speeding",
                    r.event_id or "",
                    ts,
                    f"at {beyond(v, cfg.speed_limit_kmh, above=True, digits=0)} km/h "
                    f"for {ts - over_since:.0f} s",
                    f"limit {cfg.speed_limit_kmh:g} km/h",
                    value=v,
                    threshold=cfg.speed_limit_kmh,
                )
            )
    elif v <= cfg.speeding_clear_kmh and over_since is not None:
        if speeding:
            verdicts.append(Clear("speeding", ts, f"back to {v:.0f} km/h"))
        over_since, speeding = None, False

    if s.prev_speed is not None and s.prev_ts is not None and 0 < ts - s.prev_ts <= cfg.max_gap_s:
        accel = (v - s.prev_speed) / 3.6 / (ts - s.prev_ts)
        if accel <= -cfg.harsh_braking_ms2:
            brake_last = ts
            verdicts.append(
                Raise(
                    "harsh_braking",
                    r.event_id or "",
                    ts,
                    f"braked at {-accel:.1f} m/s² ({s.prev_speed:.0f}→{v:.0f} km/h)",
                    f"limit {cfg.harsh_braking_ms2:g} m/s²",
                    value=-accel,
                    threshold=cfg.harsh_braking_ms2,
                )
            )
        elif accel >= cfg.harsh_acceleration_ms2:
            accel_last = ts
            verdicts.append(
                Raise(
                    "harsh_acceleration",
                    r.event_id or "",
                    ts,
                    f"accelerated at {accel:.1f} m/s² ({s.prev_speed:.0f}→{v:.0f} km/h)",
                    f"limit {cfg.harsh_acceleration_ms2:g} m/s²",
                    value=accel,
                    threshold=cfg.harsh_acceleration_ms2,
                )
            )
    state = DrivingState(
        over_since=over_since,
        speeding=speeding,
        prev_speed=v,
        prev_ts=ts,
        brake_last=brake_last,
        accel_last=accel_last,
    )
    return state, tuple(verdicts) if verdicts else NO_VERDICTS
