"""bench/run_all.py reads the Teltonika gateway benchmark's figures out of its output."""

from __future__ import annotations

from bench.run_all import Result, summary_rows

OUTPUT = """\
gateway / baseline p99, per step: 500: 20.1 / 1.2 ms = x16.8, 5,000: 48.3 / 2.0 ms = x24.2
Teltonika gateway, one process: 5,000 devices connected, p99 48.3 ms (packet sent -> reply), 1,650 readings/s on Kafka
baseline bare asyncio server, same devices: p99 2.0 ms
ratio gateway / baseline p99: x24.2 (goal >= 5,000 devices, p99 < 100 ms)
"""  # noqa: E501


def test_the_gateway_row_has_devices_p99_the_baseline_and_their_ratio() -> None:
    command = "python bench/bench_teltonika_gateway.py"
    rows = summary_rows([Result("bench_teltonika_gateway", 0, 100.0, OUTPUT, command)])
    row = next(r for r in rows if r.figure.startswith("Teltonika gateway"))
    assert row.value == "5,000 devices, p99 48.3 ms (packet -> reply), 1,650 readings/s"
    assert row.baseline == "bare asyncio server p99 2.0 ms"
    assert row.ratio == "p99 x24.2"
    assert row.goal == ">= 5,000 devices, p99 < 100 ms"
    assert row.command == command


def test_output_without_a_step_that_held_gives_no_figure_row() -> None:
    output = "Teltonika gateway, one process: no step held (p99 < 100 ms)\n"
    rows = summary_rows([Result("bench_teltonika_gateway", 0, 1.0, output, "cmd")])
    assert rows[0].value == "no figure (exit 0)"
