"""Benchmark: ETA error on the simulator's routes, after the first quarter of the trip.

One simulated truck per registry route (the real ``TruckSim`` physics: speed plan, 50 km/h town
zones, braking, the route's own halts at weighbridges and rest stops, a cruise speed that
wanders) drives the route out and back, seeded, in-process, no servers. Every reading goes
through :func:`logistream.shipments.eta.update_speed`; once a minute the ETA to the trip's
destination is computed with :func:`~logistream.shipments.eta.etas` on a shipment whose stops
are the route's two ends, and compared, once the truck is there, with the true arrival time.
Only the minutes after the first quarter of the trip (by time, from departure) are scored:
median and p90 of the absolute error, in minutes, per route and direction and over all.

Baseline, same trips: the remaining distance at the default 60 km/h with the halts' dwell,
without the measured speed (what a plan alone predicts).

What bounds the figure: the distance is exact here (the simulator drives the polyline itself;
GPS noise is 3 m) and the halts' dwell is the registry's, so what is left is the speed: the
moving average (half-life 30 min of driving) holds the speed of the road just driven, while the
rest of the trip mixes 80 km/h highway, 50 km/h towns and the slowing and starting round them,
and the driver's cruise speed wanders by a few km/h. On real roads traffic, police checks and
unplanned stops add to it.

    python bench/bench_eta_error.py            # 6 routes x 2 directions x 3 seeds (~1 min)
    python bench/bench_eta_error.py --smoke    # 2 routes, outbound, one seed (a few seconds)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script (``python bench/bench_eta_error.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logistream.ingest import physics
from logistream.ingest.route import RoutePath
from logistream.ingest.truck import TruckSim
from logistream.registry import load_registry
from logistream.registry.models import Registry, Truck
from logistream.shipments.eta import EtaConfig, MovingSpeed, RouteLine, etas, update_speed

SEEDS = (1, 2, 3)
START = 1_767_243_600.0  # 2026-01-01T08:00+03:00
SAMPLE_S = 60.0
SCORED_FROM = 0.25
"""Scored from this fraction of the trip's duration after departure."""
SMOKE_ROUTES = 2


@dataclass(slots=True)
class Trip:
    route: str
    direction: str
    seed: int
    departed: float = 0.0
    arrived: float = 0.0
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    """(time, ETA, baseline ETA) once a minute while driving to the destination."""

    def errors_min(self) -> tuple[list[float], list[float]]:
        since = self.departed + SCORED_FROM * (self.arrived - self.departed)
        scored = [s for s in self.samples if since <= s[0] < self.arrived]
        return (
            [abs(eta - self.arrived) / 60.0 for _, eta, _ in scored],
            [abs(base - self.arrived) / 60.0 for _, _, base in scored],
        )


def _line(path: RoutePath, registry: Registry) -> RouteLine:
    route = registry.routes[path.name]
    halts = [(w.lat, w.lon, w.stop_min * 60.0) for w in path.waypoints[1:-1] if w.stop_min > 0]
    return RouteLine.of(
        [(w.lat, w.lon) for w in route.waypoints],
        [path.points[0], path.points[-1]],
        halts=halts,
    )


def drive(
    registry: Registry, route: str, seed: int, *, back: bool, config: EtaConfig
) -> list[Trip]:
    """The truck's outbound trip (and the return trip when ``back``), sampled once a minute."""
    truck = Truck(f"ETA {route}", "DRV-ETA", route, "vaccines", 400.0)
    paths = (RoutePath(registry.routes[route]), RoutePath(registry.routes[route], reverse=True))
    sim = TruckSim(truck, registry.profile_for("vaccines"), paths, seed=seed, start=START, dt=1.0)
    baseline = EtaConfig(halflife_s=1e12)  # the default speed never gives way
    trips: list[Trip] = []
    t = START
    line: RouteLine | None = None
    speed = MovingSpeed()
    next_sample = 0.0
    wanted = 2 if back else 1
    while len(trips) < wanted or not trips[-1].arrived:
        t += 1.0
        reading = sim.step(t, physics.diurnal_offset_c(t))
        if sim.moving and sim.trip_no > len(trips):
            # Departure from the origin: a new trip, a new shipment line, the speed kept.
            trips.append(Trip(route, "out" if sim.path is paths[0] else "back", seed, t))
            line = _line(sim.path, registry)
            next_sample = t
        if reading is None or reading.lat is None or reading.lon is None:
            continue
        speed = update_speed(speed, t, reading.speed_kmh or 0.0, config)
        if line is None or trips[-1].arrived:
            continue
        trip = trips[-1]
        if sim.at_destination:
            trip.arrived = t
            continue
        if t >= next_sample:
            next_sample += SAMPLE_S
            (eta,) = etas(line, reading.lat, reading.lon, t, speed, 1, config)
            (base,) = etas(line, reading.lat, reading.lon, t, MovingSpeed(), 1, baseline)
            trip.samples.append((t, eta.eta, base.eta))
    return trips


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2 routes, outbound, one seed")
    parser.add_argument(
        "--halflife-min", type=float, help="the moving speed's half-life (default: EtaConfig's)"
    )
    args = parser.parse_args()
    registry = load_registry()
    routes = sorted(registry.routes)[: SMOKE_ROUTES if args.smoke else None]
    seeds = SEEDS[:1] if args.smoke else SEEDS
    config = EtaConfig()
    if args.halflife_min is not None:
        config = EtaConfig(halflife_s=args.halflife_min * 60.0)
    print("ETA error: the simulator's truck physics -> shipments.eta, in-process, no servers")
    print(
        f"seeds {' '.join(map(str, seeds))}; ETA to the destination once a minute, scored after "
        f"the first {SCORED_FROM:.0%} of each trip; moving speed: EWMA, half-life "
        f"{config.halflife_s / 60:.0f} min of driving above {config.moving_kmh:.0f} km/h, "
        f"default {config.default_kmh:.0f} km/h; baseline: the default speed throughout"
    )
    began = time.monotonic()
    everything: list[float] = []
    everything_base: list[float] = []
    per_route: dict[str, float] = {}
    print(
        f"\n{'route':<20} {'dir':<5} {'km':>5} {'trip h':>7} {'n':>5} "
        f"{'median min':>11} {'p90 min':>8} {'baseline median':>16}"
    )
    for route in routes:
        trips = [
            t
            for seed in seeds
            for t in drive(registry, route, seed, back=not args.smoke, config=config)
        ]
        for direction in ("out", "back"):
            chosen = [t for t in trips if t.direction == direction]
            if not chosen:
                continue
            errors = [e for t in chosen for e in t.errors_min()[0]]
            base = [e for t in chosen for e in t.errors_min()[1]]
            hours = statistics.median((t.arrived - t.departed) / 3600.0 for t in chosen)
            everything += errors
            everything_base += base
            per_route[f"{route} {direction}"] = statistics.median(errors)
            km = RoutePath(registry.routes[route]).length_km
            print(
                f"{route:<20} {direction:<5} {km:>5.0f} {hours:>7.1f} {len(errors):>5} "
                f"{statistics.median(errors):>11.1f} {_p90(errors):>8.1f} "
                f"{statistics.median(base):>16.1f}",
                flush=True,
            )
    median, p90 = statistics.median(everything), _p90(everything)
    base_median = statistics.median(everything_base)
    print(
        f"\nETA error after the first quarter, all routes: median {median:.1f} min, "
        f"p90 {p90:.1f} min (n={len(everything)}); baseline (default speed) median "
        f"{base_median:.1f} min; {time.monotonic() - began:.0f} s"
    )
    print(
        json.dumps(
            {
                "bench": "eta_error",
                "median_min": round(median, 2),
                "p90_min": round(p90, 2),
                "baseline_median_min": round(base_median, 2),
                "samples": len(everything),
                "routes": len(routes),
                "seeds": list(seeds),
                "per_route_median_min": {k: round(v, 2) for k, v in per_route.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
