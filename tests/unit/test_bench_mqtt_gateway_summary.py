"""bench/run_all.py reads the MQTT gateway benchmark's figures out of its output."""

from __future__ import annotations

from bench.run_all import Result, summary_rows

OUTPUT = """\
CPU a reading (median): gateway 162 µs (one core would do 6,154/s), baseline mosquitto_sub + producer 35 µs
MQTT gateway, one process, MQTT -> Kafka (median): 3,255 readings/s
baseline mosquitto_sub -> Kafka producer (median): 8,831 readings/s
ratio gateway / baseline: 0.37 (goal >= 20,000 readings/s and >= 0.5 of the baseline)
"""  # noqa: E501


def test_the_gateway_row_has_its_rate_the_baseline_and_their_ratio() -> None:
    command = "python bench/bench_mqtt_gateway.py"
    rows = summary_rows([Result("bench_mqtt_gateway", 0, 100.0, OUTPUT, command)])
    row = next(r for r in rows if r.figure.startswith("MQTT gateway"))
    assert row.value == "3,255 readings/s"
    assert row.baseline == "mosquitto_sub -> Kafka producer 8,831/s"
    assert row.ratio == "0.37"
    assert row.goal == ">= 20,000 readings/s and >= 0.5 of the baseline"
    assert row.command == command


def test_output_without_the_figures_gives_no_figure_row() -> None:
    rows = summary_rows([Result("bench_mqtt_gateway", 0, 1.0, "nothing", "cmd")])
    assert rows[0].value == "no figure (exit 0)"
