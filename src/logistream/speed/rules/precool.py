"""``not_precooled`` (major): loading a shipment into a reefer whose air has not yet been in the
cargo's range for the pre-cooling time (default 30 min, ``[shipments] precool_min``).

Loading is the door opening while the shipment is at its origin, or, for a truck without a door
sensor, leaving the origin. The alert names the shipment and says how long the air had been in
range; it resolves once every probe of the shipment has been in range for the pre-cooling time
(the cargo is cold again). The check is made once, at the first loading: later door openings
while loading warm the air, as they must.

Each probe's time in range is tracked on all of its readings (:func:`cold_since`); the shipment's
probes are all the truck's when it names none.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from logistream.events import Reading
from logistream.registry.models import CargoProfile
from logistream.speed.rules.base import Clear, Raise, Verdict, minutes

RULE = "not_precooled"
SINGLE_PROBE = ""
"""The key of a truck's single (unnamed) probe."""


def cold_since(
    since: Mapping[str, float], reading: Reading, profile: CargoProfile
) -> dict[str, float] | None:
    """Each probe's start of its current stretch in range after ``reading`` (None: unchanged)."""
    probe = reading.probe_id or SINGLE_PROBE
    inside = profile.low_c <= reading.temp <= profile.high_c
    if inside == (probe in since):
        return None
    updated = dict(since)
    if inside:
        updated[probe] = reading.timestamp
    else:
        del updated[probe]
    return updated


def cold_for_s(since: Mapping[str, float], probes: Collection[str], now: float) -> float:
    """How long every one of ``probes`` has been in range at ``now`` (0: one is not)."""
    starts = [since.get(p) for p in probes]
    if not starts or any(s is None for s in starts):
        return 0.0
    return max(0.0, now - max(s for s in starts if s is not None))


def step(
    *,
    loading: bool,
    is_open: bool,
    cold_s: float,
    precool_s: float,
    reading: Reading,
    profile: CargoProfile,
    shipment: str,
    origin: str,
) -> tuple[Verdict, ...]:
    """The verdicts on this reading: ``loading`` (door open at the origin, or leaving it),
    ``is_open`` (the alert is open now), ``cold_s`` (how long every probe has been in range)."""
    if cold_s >= precool_s:
        if is_open:
            return (Clear(RULE, reading.timestamp, f"air in range for {minutes(cold_s)} min"),)
        return ()
    if not loading or is_open:
        return ()
    return (
        Raise(
            RULE,
            reading.event_id or "",
            reading.timestamp,
            f"shipment {shipment} loading at {origin} with the air in "
            f"{profile.low_c:g}–{profile.high_c:g} °C for only {minutes(cold_s)} min",
            f"pre-cool for {minutes(precool_s)} min before loading",
            value=float(minutes(cold_s)),
            threshold=float(minutes(precool_s)),
        ),
    )
