"""bench/run_all.py reads the shipment report benchmark's figures out of its output."""

from __future__ import annotations

from bench.run_all import Result, summary_rows

OUTPUT = """\
3-drop, 12-hour shipment: 8,640 readings of 2 probes every 10 s
shipment report (issue + PDF), median of 2: 0.978 s (goal < 2 s)
{"bench": "shipment_report", "readings": 8640, "runs": 2, "median_s": 0.9778, "max_s": 1.117, "baseline_trip_s": 1.1476}
"""  # noqa: E501


def test_the_shipment_report_row_has_the_median_the_goal_and_the_trip_baseline() -> None:
    command = "python bench/bench_shipment_report.py"
    rows = summary_rows([Result("bench_shipment_report", 0, 10.0, OUTPUT, command)])
    row = next(r for r in rows if r.figure.startswith("shipment report generation"))
    assert "(8,640 readings)" in row.figure
    assert (row.value, row.goal) == ("0.98 s", "< 2 s")
    assert row.baseline == "trip report of the same readings 1.15 s"
    assert row.ratio == "0.85"
    assert row.command == command
