"""Fuel: low level, and a drop while parked larger than idling explains (theft)."""

from __future__ import annotations

import msgspec

from logistream.events import Reading
from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, RuleContext, Verdict, beyond


class FuelState(msgspec.Struct, frozen=True, kw_only=True):
    low: bool = False
    parked_since: float | None = None
    """Start of the stop (or of the last refuelling during it)."""
    baseline_pct: float | None = None
    """Fuel level at that moment."""
    theft: bool = False


def step(s: FuelState, r: Reading, ctx: RuleContext) -> tuple[FuelState, tuple[Verdict, ...]]:
    fuel = r.fuel
    if fuel is None:
        return s, NO_VERDICTS
    cfg = ctx.config.fuel
    ts = r.timestamp
    verdicts: list[Verdict] = []

    low = s.low
    if not s.low and fuel < cfg.low_pct:
        low = True
        verdicts.append(
            Raise(
                "fuel_low",
                r.event_id or "",
                ts,
                f"fuel at {beyond(fuel, cfg.low_pct, above=False, digits=0)}%",
                f"refuel below {cfg.low_pct:g}%",
                value=fuel,
                threshold=cfg.low_pct,
            )
        )
    elif s.low and fuel >= cfg.low_clear_pct:
        low = False
        verdicts.append(Clear("fuel_low", ts, f"fuel back to {fuel:.0f}%"))

    parked_since, baseline, theft = s.parked_since, s.baseline_pct, s.theft
    if r.speed_kmh is not None:
        if r.speed_kmh <= cfg.parked_kmh:
            if parked_since is None or baseline is None or fuel > baseline:
                # A new stop, or refuelling during it: measure from here.
                parked_since, baseline = ts, fuel
            lost_l = (baseline - fuel) / 100.0 * ctx.tank_litres
            expected_l = cfg.idle_litres_per_h * (ts - parked_since) / 3600.0
            if lost_l - expected_l >= cfg.theft_min_litres:
                theft = True
                verdicts.append(
                    Raise(
                        "fuel_theft",
                        r.event_id or "",
                        ts,
                        f"lost {lost_l:.0f} L of fuel while parked",
                        f"idling explains {expected_l:.0f} L",
                        value=lost_l,
                        threshold=expected_l + cfg.theft_min_litres,
                    )
                )
        elif parked_since is not None:
            if theft:
                verdicts.append(Clear("fuel_theft", ts, "moving again; stop ended"))
            parked_since, baseline, theft = None, None, False

    state = FuelState(low=low, parked_since=parked_since, baseline_pct=baseline, theft=theft)
    return state, tuple(verdicts) if verdicts else NO_VERDICTS
