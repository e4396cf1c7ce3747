"""The stage-detection benchmark's plan (pure): every shipment truck's readings lie inside, then
outside, each stop's fence in turn, 60 s of event time apart, so each third reading completes a
120 s dwell; and bench/run_all.py reads the figures out of its output."""

from __future__ import annotations

import itertools
import json

from bench.bench_stage_detection import EXAMPLE, PER_PLACE, STEPS, plan
from bench.run_all import Result, summary_rows

from logistream.registry import load_registry
from logistream.shipments.parse import load_shipment_file

OUTPUT = """\
stage detection delay (reading completing the dwell -> stage event in Redis), pooled: p50 10.69 ms
{"bench": "stage_detection", "runs": 5, "seconds": 10.0, "rate": 1000.0, "shipments": 100, "p50_ms": 10.69, "p99_ms": 185.6, "max_ms": 197.76, "samples": 3500, "alert_p50_ms": 11.82, "alert_p99_ms": 154.88, "alert_samples": 2026, "runs_p99_median_ms": 120.0, "alert_runs_p99_median_ms": 130.0, "per_run": []}
"""  # noqa: E501


def test_each_shipment_truck_dwells_at_every_stop_and_leaves_it() -> None:
    shipment = load_shipment_file(EXAMPLE, load_registry())
    fences = [stop.geofence for stop in shipment.stops]
    readings = plan("abc123", rate=1000, seconds=10, shipments=4, start_ev=1_000_000.0)
    assert len(readings) == 11_000  # 1 s of warm-up + 10 s at 1,000/s
    assert [r.due for r in readings] == sorted(r.due for r in readings)
    truck = [r for r in readings if r.key == b"BSTG-abc123-S002"]
    assert len(truck) == STEPS
    docs = [json.loads(r.value) for r in truck]
    assert [b["timestamp"] - a["timestamp"] for a, b in itertools.pairwise(docs)] == (
        [60.0] * (STEPS - 1)
    )
    inside = [[i for i, f in enumerate(fences) if f.contains(d["lat"], d["lon"])] for d in docs]
    # origin, outside, stop 1, outside, stop 2, outside, destination: three readings each
    places = [[0], [], [1], [], [2], [], [3]]
    assert inside == [p for p in places for _ in range(PER_PLACE)]
    assert sum(r.hot for r in readings) > 0
    assert not any(r.hot for r in truck)


def test_the_row_has_the_pooled_and_per_run_p99_and_the_alert_baseline() -> None:
    command = "python bench/bench_stage_detection.py"
    rows = summary_rows([Result("bench_stage_detection", 0, 90.0, OUTPUT, command)])
    row = next(r for r in rows if r.figure.startswith("shipment stage detection delay"))
    assert row.figure.endswith("; 5 runs, n=3,500)")
    assert row.value == "p50 10.7 / p99 185.6 / max 197.8 ms (median of the runs' p99 120.0 ms)"
    assert row.goal == "p99 < 100 ms"
    assert row.baseline == "alert latency, same runs: p99 154.9 ms (runs' median 130.0 ms)"
    assert row.ratio == "p99 x1.2"
