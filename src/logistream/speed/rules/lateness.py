"""``eta_late`` (minor): the ETA at the shipment's next stop falls after the stop's planned window.

It opens when the ETA passes the window's end by more than ``GRACE_S`` (an ETA moves by minutes
with every slowdown: a few minutes over is noise, not news), and resolves when the ETA is back
within the window or the truck arrives at the stop. Value: minutes past the window's end.
"""

from __future__ import annotations

from logistream.events import Reading
from logistream.speed.rules.base import Clear, Raise, Verdict, minutes

RULE = "eta_late"
GRACE_S = 300.0


def step(
    *,
    eta: float | None,
    window_end: float,
    is_open: bool,
    arrived: bool,
    reading: Reading,
    shipment: str,
    stop_name: str,
) -> tuple[Verdict, ...]:
    """``eta``: the next stop's ETA (None: no stop ahead); ``arrived``: the truck has just
    arrived at the stop the alert was about."""
    if is_open:
        if arrived:
            return (Clear(RULE, reading.timestamp, f"arrived at {stop_name}"),)
        if eta is None or eta <= window_end:
            return (Clear(RULE, reading.timestamp, f"on time again for {stop_name}"),)
        return ()
    if eta is None or eta <= window_end + GRACE_S:
        return ()
    late_s = eta - window_end
    return (
        Raise(
            RULE,
            reading.event_id or "",
            reading.timestamp,
            f"shipment {shipment} expected at {stop_name} {minutes(late_s)} min after its "
            "window closes",
            "at the truck's recent moving speed along the route",
            value=float(minutes(late_s)),
            threshold=0.0,
        ),
    )
