"""The speed processor's event-time watermark, and the sensor_offline sweep it drives. Pure.

The watermark is the event time up to which every truck of the processor's partitions has
reported, if it reports: the fleet's time (:func:`offline.fleet_clock`: reached by several
trucks), except that a partition with records still waiting holds it back to that partition's
newest event time (its trucks may well have sent later readings not read yet). Without this,
reading one partition's backlog ahead of another's would make the other's trucks look silent.
A caught-up partition holds nothing back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from logistream.speed import engine
from logistream.speed.rules import offline
from logistream.speed.state import TruckState


def watermark(
    *,
    newest_event: Mapping[int, float],
    backlogged: Iterable[int],
    last_seen: Collection[float],
    lateness_s: float,
) -> float | None:
    """The watermark (see the module docstring), ``lateness_s`` before the event time reached;
    None while nothing is known yet, or a backlogged partition's newest event time is not.

    ``newest_event``: newest event time read per partition; ``backlogged``: the partitions
    with records still waiting; ``last_seen``: each truck's last event time.
    """
    if not newest_event:
        return None
    held: list[float] = []
    for p in backlogged:
        if p not in newest_event:
            return None  # a backlog we know nothing about yet
        held.append(newest_event[p])
    fleet = offline.fleet_clock(last_seen)
    if fleet is None:
        return None
    return min([*held, fleet]) - lateness_s


def offline_steps(
    trucks: Mapping[str, TruckState], wm: float, offline_s: float, contexts: engine.Contexts
) -> list[tuple[str, engine.Step]]:
    """The trucks silent for more than ``offline_s`` at watermark ``wm`` whose rule state
    changes (sensor_offline opens), with the step that changes it."""
    steps = []
    for truck_id, state in trucks.items():
        last = state.last
        if last is None or wm - last.timestamp - state.delay_s <= offline_s:
            continue
        step = engine.on_watermark(state, wm, contexts.get(truck_id, last.cargo))
        if step.changes:
            steps.append((truck_id, step))
    return steps
