"""bench/run_all.py reads the ETA benchmark's figures out of its output."""

from __future__ import annotations

from bench.run_all import NO_SERVERS, Result, summary_rows

OUTPUT = """\
ETA error after the first quarter, all routes: median 2.3 min, p90 10.3 min (n=7669); baseline (default speed) median 17.4 min; 41 s
{"bench": "eta_error", "median_min": 2.26, "p90_min": 10.3, "baseline_median_min": 17.43, "samples": 7669, "routes": 6, "seeds": [1, 2, 3], "per_route_median_min": {}}
"""  # noqa: E501


def test_the_eta_row_has_the_median_the_p90_and_the_baseline() -> None:
    command = "python bench/bench_eta_error.py"
    rows = summary_rows([Result("bench_eta_error", 0, 40.0, OUTPUT, command)])
    row = next(r for r in rows if r.figure.startswith("shipment ETA error"))
    assert row.figure.endswith("(6 routes, 7,669 minutes)")
    assert row.value == "median 2.3 / p90 10.3 min"
    assert row.baseline == "default speed only: median 17.4 min"
    assert row.ratio == "0.13"
    assert row.command == command


def test_the_eta_benchmark_needs_no_servers() -> None:
    assert "bench_eta_error" in NO_SERVERS
