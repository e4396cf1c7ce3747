"""bench/run_all.py reads the tenancy benchmark's figures out of its output: one row each for
the carrier's and a shipper's token, with row-level security against without."""

from __future__ import annotations

from bench.run_all import Result, summary_rows

OUTPUT = """\
seed=1 shipments=1000 clients=4 rounds=1
{"bench": "tenancy", "shipments": 1000, "rounds": 1, "carrier": {"rls_rps": 400.0, "plain_rps": 500.0, "slower_pct": 20.0, "rls_p99_ms": 20.0, "plain_p99_ms": 15.0}, "shipper": {"rls_rps": 450.0, "plain_rps": 450.0, "slower_pct": 0.0, "rls_p99_ms": 12.0, "plain_p99_ms": 12.0}}
"""  # noqa: E501


def test_the_tenancy_rows_have_both_tokens_with_and_without_row_level_security() -> None:
    command = "python bench/bench_tenancy.py"
    rows = summary_rows([Result("bench_tenancy", 0, 10.0, OUTPUT, command)])
    carrier, shipper = (r for r in rows if r.figure.startswith("GET /v1/shipments as the"))
    assert carrier.figure == (
        "GET /v1/shipments as the carrier with row-level security (1,000 shipments)"
    )
    assert (carrier.value, carrier.goal, carrier.ratio) == ("400 req/s", "<= 20 % slower", "0.80")
    assert carrier.baseline == "without row-level security 500 req/s"
    assert (shipper.value, shipper.ratio) == ("450 req/s", "1.00")
    assert shipper.command == command
