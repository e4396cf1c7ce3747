"""The fleet simulator's clock: every truck stepped together, tick by tick, into what it sends.

Per tick of simulated time, each truck (``truck.py``) yields its reading, and a truck with faults
may hold it back, double it or send broken messages beside it. The fleet of a run is built in
``fleet.py``.

Everything comes from ``(seed, start, rate)``: each truck has its own generator seeded from the
seed and its plate, so a truck's readings (``event_id`` included) do not depend on how many other
trucks run, and the same seed and start give byte-identical output. Event ids also mix in the
start, so two runs of one seed from different starts never share an id. Time is simulated: the
simulator never looks at a clock; pacing against the wall clock is the producer's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from logistream.events import Reading
from logistream.ingest import physics
from logistream.ingest.faults import RawMessage, malformed
from logistream.ingest.truck import TruckSim
from logistream.registry.scenarios import Scenario

Emission = Reading | RawMessage


@dataclass(slots=True)
class FleetSim:
    """Every truck of a run, stepped together tick by tick."""

    trucks: list[TruckSim]
    start: float
    rate_hz: float
    scenario: Scenario
    _tick: int = field(default=0, init=False)

    def ticks(self, duration_s: float | None) -> Iterator[tuple[float, list[Emission]]]:
        """Per tick, its event time and what the trucks send then; forever when no duration."""
        dt = 1.0 / self.rate_hz
        last = None if duration_s is None else round(duration_s * self.rate_hz)
        trucks = self.trucks
        while last is None or self._tick < last:
            t = self.start + self._tick * dt
            self._tick += 1
            diurnal = physics.diurnal_offset_c(t)
            out: list[Emission] = []
            append = out.append
            for truck in trucks:
                reading = truck.step(t, diurnal)
                if truck.faults:
                    _emit_faulty(truck, reading, out)
                elif reading is not None:
                    append(reading)
            yield t, out

    def emissions(self, duration_s: float | None) -> Iterator[Emission]:
        """What the trucks send, tick after tick, as one stream."""
        for _, batch in self.ticks(duration_s):
            yield from batch


def _emit_faulty(truck: TruckSim, reading: Reading | None, out: list[Emission]) -> None:
    """What a truck with faults sends this tick: held back, doubled, or with broken extras."""
    if reading is not None:
        if truck.f_ooo:
            truck.held.append(reading)
        else:
            out.append(reading)
            if truck.f_dup:
                out.append(reading)
        if truck.f_raw:
            # Broken messages ride along with a real reading (kept while the sensor is off).
            out.extend(malformed(v, reading, truck.key) for v in truck.f_raw)
            truck.f_raw.clear()
    if truck.held and not truck.f_ooo:
        # The held readings arrive late, newest first.
        out.extend(reversed(truck.held))
        truck.held.clear()
