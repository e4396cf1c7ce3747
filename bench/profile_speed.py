"""Profile the speed layer: one processor draining a pre-filled topic (bench_speed's throughput
phase, in this process), under cProfile, printing the top of the profile by own time.

For a sampling profile of the same run without cProfile's overhead, run it under py-spy (not a
project dependency): ``py-spy record --nonblocking -f raw -o speed.raw -- python
bench/profile_speed.py --no-cprofile``.

Servers: as bench_speed (LOGISTREAM_TEST_* or the local stack); the topics and keys are removed
after.

    python bench/profile_speed.py                 # 100,000 readings, 500 trucks
    python bench/profile_speed.py --readings 20000 --top 40
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_speed import _cleanup, _produce, _settings
from bench.speed_harness import run_until_taken
from logistream.kafka import ensure_topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--trucks", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--redis-db", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-cprofile", action="store_true", help="run without cProfile")
    args = parser.parse_args()

    from logistream.speed.stream_processor import SpeedProcessor

    run = uuid.uuid4().hex[:6]
    settings = _settings(args, f"profile.{run}")
    ensure_topics(
        settings, [settings.topic_telemetry, settings.topic_alerts, settings.topic_commands]
    )
    try:
        _produce(settings, args.readings, args.trucks, None, run)
        proc = SpeedProcessor(settings, instance="bench", batch_size=args.batch_size)
        profile = None if args.no_cprofile else cProfile.Profile()
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        run_until_taken(proc, args.readings)
        if profile is not None:
            profile.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        _cleanup(settings, run)
    taken = proc.progress.processed
    print(
        f"{taken} readings in {wall:.1f} s wall (group join included), "
        f"{1e6 * cpu / max(1, taken):.1f} µs of CPU per reading"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
