"""How long each reading stands for: the time base every batch sum shares.

Readings are sorted by (event time, event id), whatever order they arrived in. Each reading
holds until the next one, capped at ``hold_max_s``; the remainder of a longer silence is a gap.
Sample-and-hold makes every sum independent of the sampling rate: a curve sampled at each of
its changes gives the same totals, however densely it is sampled in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hold:
    weight_s: float
    """Seconds this reading stands for (0 for the last reading of a trip)."""
    uncovered_s: float
    """Seconds after it with no reading standing for the air (silence beyond the cap)."""


def holds(times: Sequence[float], hold_max_s: float) -> list[Hold]:
    """Per reading, in the given order (which must be sorted), its hold and the gap after it."""
    out: list[Hold] = []
    for i, t in enumerate(times):
        if i + 1 < len(times):
            dt = max(0.0, times[i + 1] - t)
            out.append(Hold(min(dt, hold_max_s), max(0.0, dt - hold_max_s)))
        else:
            out.append(Hold(0.0, 0.0))
    return out
