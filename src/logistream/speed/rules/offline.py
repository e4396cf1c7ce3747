"""Sensor offline: no reading from an active truck for too long, in event time.

Two ways to see it, giving the same alert (its id comes from the last reading before the
silence, its opening time is that reading's time plus the limit):
- live, when the processor's watermark (newest event time seen, minus an allowed lateness)
  passes the limit;
- afterwards, when the truck's next reading shows a gap longer than the limit; then the alert
  opens and resolves at once, so a replay or another process count never loses it.
"""

from __future__ import annotations

from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, Verdict, minutes
from logistream.speed.rules.config import OfflineConfig

RULE = "sensor_offline"


def _raise(last_ts: float, last_event_id: str, cfg: OfflineConfig) -> Raise:
    # Everything here depends on the last reading only, so live and late detection agree.
    return Raise(
        RULE,
        last_event_id,
        last_ts + cfg.offline_s,
        f"sent no reading for {minutes(cfg.offline_s)} min",
        "check the telematics unit",
        value=cfg.offline_s / 60.0,
        threshold=cfg.offline_s / 60.0,
    )


def on_watermark(
    last_ts: float, last_event_id: str, watermark: float, is_open: bool, cfg: OfflineConfig
) -> tuple[Verdict, ...]:
    """Verdicts when the watermark advances past a truck's last reading."""
    silent = watermark - last_ts
    if is_open or silent <= cfg.offline_s or silent > cfg.inactive_after_s:
        return NO_VERDICTS
    return (_raise(last_ts, last_event_id, cfg),)


def on_reading(
    last_ts: float | None,
    last_event_id: str | None,
    ts: float,
    is_open: bool,
    cfg: OfflineConfig,
) -> tuple[Verdict, ...]:
    """Verdicts when an in-order reading arrives after the truck's previous one."""
    if last_ts is None or last_event_id is None:
        return NO_VERDICTS
    gap = ts - last_ts
    back = Clear(RULE, ts, f"reporting again after {minutes(gap)} min")
    if is_open:
        return (back,)
    if cfg.offline_s < gap <= cfg.inactive_after_s:
        return (_raise(last_ts, last_event_id, cfg), back)
    return NO_VERDICTS
