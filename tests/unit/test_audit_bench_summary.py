"""bench/run_all.py reads the audit verify benchmark's figures out of its output."""

from __future__ import annotations

from bench.run_all import Result, summary_rows

OUTPUT = """\
seed 18
filled 20,000 chained audit rows (generate + COPY) in 3.5 s
audit verify over 20,000 rows, median of 3: 1.58 s (12,659 rows/s)
{"bench": "audit_verify", "rows": 20000, "runs": 3, "median_s": 1.58, "max_s": 2.012, "rows_per_s": 12659, "baseline_fetch_s": 1.355, "fill_s": 3.5}
"""  # noqa: E501


def test_the_audit_verify_row_has_the_median_the_rate_and_the_fetch_baseline() -> None:
    command = "python bench/bench_audit_verify.py --smoke"
    rows = summary_rows([Result("bench_audit_verify", 0, 10.0, OUTPUT, command)])
    row = next(r for r in rows if r.figure.startswith("audit verify"))
    assert row.figure == "audit verify, 20,000 hash-chained rows, median of 3"
    assert row.value == "1.6 s (12,659 rows/s)"
    assert (row.baseline, row.ratio) == ("fetch only 1.4 s", "1.17")
    assert row.command == command
