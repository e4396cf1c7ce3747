"""Run every benchmark (bench/bench_*.py) against one throw-away stack; write BENCHMARKS.md.

    python -m bench.run_all            # full runs, then BENCHMARKS.md (about 20 minutes)
    python -m bench.run_all --smoke    # a few seconds each, so none of them rots (CI runs this)
    python -m bench.run_all --only bridge

Each benchmark reads LOGISTREAM_TEST_* for its servers (like the tests) and makes its own
topics and database; set those variables to use servers you already run. BENCHMARKS.md starts
with a summary table (figure, goal, baseline, ratio, command) read from the benchmarks' output,
plus the fault suite's recovery times from build/fault-recovery.json when that file exists.
Benchmarks that need no servers (NO_SERVERS) run without the stack: `--only` one of them
starts none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from logistream.stack.temporary import temporary_stack, test_environment

BENCH_DIR = Path(__file__).resolve().parent
REPORT = BENCH_DIR.parent / "BENCHMARKS.md"
WHERE_THE_TIME_GOES = BENCH_DIR / "where_the_time_goes.md"
"""The profiles per layer, written by hand; copied into BENCHMARKS.md after the summary."""
FAULT_RECOVERY = BENCH_DIR.parent / "build" / "fault-recovery.json"
# Full-run arguments that differ from a benchmark's own defaults, to keep `make bench` near
# 20 minutes on a small machine. bench_batch's default (500 trucks x 30 days, 21.6 M readings)
# takes over half an hour on two shared cores; its readings/s scale, and the report says so.
# bench_pipeline steps by 4,000 readings/s, so the 20,000/s goal is one of its steps, with two
# speed processors in one group (one reaches 16,000/s: BENCHMARKS.md's "where the time goes").
FULL_ARGS: dict[str, list[str]] = {
    "bench_batch": ["--trucks", "100", "--days", "14"],
    "bench_pipeline": ["--start-rate", "4000", "--step", "4000", "--speed-processes", "2"],
}
TIMEOUT_S = {"smoke": 600, "full": 2400}
NO_SERVERS = frozenset({"bench_alarm_quality", "bench_eta_error"})


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    code: int
    seconds: float
    output: str
    command: str


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    value: str
    goal: str = "—"
    baseline: str = "—"
    ratio: str = "—"
    command: str = ""


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _find(pattern: str, output: str) -> re.Match[str] | None:
    return re.search(pattern, output, re.MULTILINE)


def _simulator(r: Result) -> list[Row]:
    k = _find(r"to Kafka, acknowledged \(median\):\s+([\d,]+)", r.output)
    g = _find(r"generate \(baseline, no Kafka\):\s+([\d,]+)", r.output)
    if not (k and g):
        return []
    return [
        Row(
            "simulator -> Kafka, acknowledged",
            f"{_num(k[1]):,.0f} readings/s",
            ">= 50,000 readings/s",
            f"generate only {_num(g[1]):,.0f}/s",
            f"{_num(k[1]) / _num(g[1]):.2f}",
            r.command,
        )
    ]


def _speed(r: Result) -> list[Row]:
    rows: list[Row] = []
    found = {
        (m[1], m[2]): [_num(x) for x in m.groups()[2:]]
        for m in re.finditer(
            r"^(latency @ [\d,]+/s|throughput)\s+(baseline|speed)\s+([\d.]+)\s+([\d.]+)\s+"
            r"([\d.]+)\s+(\d+)\s+([\d.]+)",
            r.output,
            re.MULTILINE,
        )
    }
    for key, base in found.items():
        if key[1] != "speed":
            continue
        b = found.get((key[0], "baseline"))
        if key[0] == "throughput":
            rows.append(
                Row(
                    "speed layer throughput (one process)",
                    f"{base[4]:,.0f} readings/s",
                    baseline=f"bare consumer {b[4]:,.0f}/s" if b else "—",
                    ratio=f"{base[4] / b[4]:.2f}" if b else "—",
                    command=r.command,
                )
            )
        else:
            p50, p99, mx = base[0], base[1], base[2]
            rows.append(
                Row(
                    f"speed layer alert latency {key[0].split('@ ')[1]} (open loop)",
                    f"p50 {p50:.1f} / p99 {p99:.1f} / max {mx:.1f} ms",
                    baseline=f"p99 {b[1]:.1f} ms (bare consumer)" if b else "—",
                    ratio=f"p99 x{p99 / max(b[1], 1e-3):.1f}" if b else "—",
                    command=r.command,
                )
            )
    for m in re.finditer(
        r"^throughput, (\d+) process(?:es)? in one group: ([\d,]+) readings/s \(x([\d.]+) of one; "
        r"([\d.]+) of the bare consumer\)",
        r.output,
        re.MULTILINE,
    ):
        if m[1] != "1":
            rows.append(
                Row(
                    f"speed layer throughput, {m[1]} processes in one group (same 2 cores)",
                    f"{_num(m[2]):,.0f} readings/s",
                    baseline="one process of the group, same run",
                    ratio=f"x{m[3]} of one; {m[4]} of the bare consumer",
                    command=r.command,
                )
            )
    return rows


def _bridge(r: Result) -> list[Row]:
    b = _find(r"bridge \(one process, Kafka -> PostgreSQL\):\s+([\d,]+)", r.output)
    raw = _find(r"raw limit \(.*?\):\s+([\d,]+)", r.output)
    if not (b and raw):
        return []
    return [
        Row(
            "bridge archive throughput (one process)",
            f"{_num(b[1]):,.0f} readings/s",
            ">= 70% of raw COPY and >= 100,000/s",
            f"raw COPY limit {_num(raw[1]):,.0f}/s",
            f"{_num(b[1]) / _num(raw[1]):.0%}",
            r.command,
        )
    ]


def _batch(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "batch_recompute".*\})$', r.output)
    if not line:
        return []
    data = json.loads(line[1])
    full = 500 * 30 * 1440
    scaled = full / data["readings_per_s"]
    return [
        Row(
            f"batch-view recompute, {data['readings']:,} readings ({data['trucks']} trucks x "
            f"{data['days']} days)",
            f"{data['median_s']:.1f} s (median of "
            f"{len(data['seconds'])}); {data['readings_per_s']:,} readings/s",
            f"< {data['goal_s']} s for 500 trucks x 30 days",
            baseline=f"at this rate 500 x 30 days would take ~{scaled:,.0f} s",
            command=r.command,
        )
    ]


def _dashboard(r: Result) -> list[Row]:
    rows = []
    for label, key in (
        ("server read + render", "server read\\+render"),
        ("browser shows the new map", "browser shows the new map"),
    ):
        m = _find(rf"^{key}, median: (\d+) ms", r.output)
        if m:
            rows.append(
                Row(
                    f"dashboard live page, 500 trucks: {label}",
                    f"{m[1]} ms (median)",
                    "< 500 ms",
                    command=r.command,
                )
            )
    return rows


def _api(r: Result) -> list[Row]:
    rows = []
    fleet = _find(
        r"GET /v1/trucks \(500\):\s+([\d,]+) req/s\s+p50 ([\d.]+) ms\s+p99 ([\d.]+)", r.output
    )
    health = _find(r"baseline GET /health:\s+([\d,]+) req/s", r.output)
    if fleet and health:
        rows.append(
            Row(
                "API GET /v1/trucks (500 trucks)",
                f"{_num(fleet[1]):,.0f} req/s, p50 {fleet[2]} / p99 {fleet[3]} ms",
                baseline=f"GET /health {_num(health[1]):,.0f} req/s",
                ratio=f"{_num(fleet[1]) / _num(health[1]):.0%}",
                command=r.command,
            )
        )
    post = _find(r"POST /v1/readings:\s+([\d,]+) readings/s", r.output)
    kafka = _find(r"baseline Kafka produce:\s+([\d,]+) readings/s", r.output)
    if post and kafka:
        rows.append(
            Row(
                "API POST /v1/readings (ingest)",
                f"{_num(post[1]):,.0f} readings/s",
                baseline=f"Kafka produce {_num(kafka[1]):,.0f}/s",
                ratio=f"{_num(post[1]) / _num(kafka[1]):.0%}",
                command=r.command,
            )
        )
    live = _find(r"raised -> on the stream:\s+p50 ([\d.]+) ms\s+p99 ([\d.]+)", r.output)
    e2e = _find(r"produced -> on the stream: p50 ([\d.]+) ms\s+p99 ([\d.]+)", r.output)
    if live:
        rows.append(
            Row(
                "API live stream delay (alert raised -> SSE client)",
                f"p50 {live[1]} / p99 {live[2]} ms",
                baseline=f"from produce: p50 {e2e[1]} / p99 {e2e[2]} ms" if e2e else "—",
                command=r.command,
            )
        )
    return rows


def _pipeline(r: Result) -> list[Row]:
    best = _find(r"highest rate with bounded lag \(<= (\d+) s\).*?: ([\d,]+) readings/s", r.output)
    if not best:
        return []
    steps = [
        (int(_num(m[1])), float(m[3]), float(m[4]))
        for m in re.finditer(
            r"^\s*([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+bounded$", r.output, re.MULTILINE
        )
    ]
    processes = _find(r"speed processes=(\d+)", r.output)
    speed = f"{processes[1]} speed processes" if processes and processes[1] != "1" else "speed"
    rows = [
        Row(
            f"whole pipeline (simulator -> {speed} + bridge) on 2 cores, bounded lag",
            f"{_num(best[2]):,.0f} readings/s",
            f"lag <= {best[1]} s",
            command=r.command,
        )
    ]
    if steps:
        rate, speed_lag, bridge_lag = max(steps)
        rows.append(
            Row(
                f"archive lag at {rate:,} readings/s (bridge heartbeat, worst sample)",
                f"{bridge_lag:.2f} s",
                f"<= {best[1]} s",
                baseline=f"speed-layer lag {speed_lag:.2f} s",
                command=r.command,
            )
        )
    return rows


def _notify(r: Result) -> list[Row]:
    return [
        Row(f"notification delay, {m[1]} (alert on truck_alerts -> request at the server)",
            f"p50 {m[2]} / p99 {m[3]} / max {m[4]} ms", baseline=f"p50 {m[5]} ms",
            ratio=m[6], command=r.command)
        for m in re.finditer(
            r"^(email|webhook|sms)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)$",
            r.output,
            re.MULTILINE,
        )
    ]  # fmt: skip


def _alarm_quality(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "alarm_quality".*\})$', r.output)
    if not line:
        return []
    d = json.loads(line[1])
    runs = f"{d['scenarios']} scenarios x {len(d['starts'])} start hours"

    def pct(part: int, whole: int) -> str:
        return f"{part / whole:.1%} ({part}/{whole})" if whole else "—"

    lead, alarm = d["median_lead_min"], d.get("median_alarm_lead_min")
    return [
        Row(f"alarm quality: recall ({runs})", pct(d["hits"], d["expected"]), "100 %",
            command=r.command),
        Row("alarm quality: precision of major/critical alerts",
            pct(d["severe_expected"], d["severe_total"]), ">= 95 %", command=r.command),
        Row("alarm quality: alerts on healthy trucks (any severity)",
            str(d["healthy_warnings"]), "0", command=r.command),
        Row("alarm quality: duplicate alerts", str(d["duplicates"]), "0", command=r.command),
        Row("alarm quality: median trend lead (temp_rising -> first reading out of range)",
            "—" if lead is None else f"{lead:.1f} min (n={len(d['leads_min'])})", ">= 15 min",
            baseline="—" if alarm is None else f"to the excursion alert {alarm:.1f} min",
            command=r.command),
    ]  # fmt: skip


def _eta_error(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "eta_error".*\})$', r.output)
    if not line:
        return []
    d = json.loads(line[1])
    return [
        Row(
            f"shipment ETA error to the destination after the first quarter of the trip "
            f"({d['routes']} routes, {d['samples']:,} minutes)",
            f"median {d['median_min']:.1f} / p90 {d['p90_min']:.1f} min",
            baseline=f"default speed only: median {d['baseline_median_min']:.1f} min",
            ratio=f"{d['median_min'] / max(d['baseline_median_min'], 1e-9):.2f}",
            command=r.command,
        )
    ]


def _shipment_report(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "shipment_report".*\})$', r.output)
    if not line:
        return []
    d = json.loads(line[1])
    return [
        Row(
            f"shipment report generation, 3 drops, 12 hours ({d['readings']:,} readings), "
            "issue + PDF, median",
            f"{d['median_s']:.2f} s",
            "< 2 s",
            f"trip report of the same readings {d['baseline_trip_s']:.2f} s",
            f"{d['median_s'] / max(d['baseline_trip_s'], 1e-9):.2f}",
            r.command,
        )
    ]


def _audit_verify(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "audit_verify".*\})$', r.output)
    if not line:
        return []
    d = json.loads(line[1])
    return [
        Row(
            f"audit verify, {d['rows']:,} hash-chained rows, median of {d['runs']}",
            f"{d['median_s']:.1f} s ({d['rows_per_s']:,} rows/s)",
            baseline=f"fetch only {d['baseline_fetch_s']:.1f} s",
            ratio=f"{d['median_s'] / max(d['baseline_fetch_s'], 1e-9):.2f}",
            command=r.command,
        )
    ]


def _stage_detection(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "stage_detection".*\})$', r.output)
    if not line:
        return []
    d = json.loads(line[1])
    return [
        Row(
            f"shipment stage detection delay @ {d['rate']:,.0f}/s (reading completing the dwell "
            f"-> stage event in Redis; {d['runs']} runs, n={d['samples']:,})",
            f"p50 {d['p50_ms']:.1f} / p99 {d['p99_ms']:.1f} / max {d['max_ms']:.1f} ms (median "
            f"of the runs' p99 {d['runs_p99_median_ms']:.1f} ms)",
            "p99 < 100 ms",
            f"alert latency, same runs: p99 {d['alert_p99_ms']:.1f} ms (runs' median "
            f"{d['alert_runs_p99_median_ms']:.1f} ms)",
            f"p99 x{d['p99_ms'] / max(d['alert_p99_ms'], 1e-3):.1f}",
            r.command,
        )
    ]


def _mqtt_gateway(r: Result) -> list[Row]:
    g = _find(r"MQTT gateway, one process, MQTT -> Kafka \(median\):\s+([\d,]+)", r.output)
    b = _find(r"baseline mosquitto_sub -> Kafka producer \(median\):\s+([\d,]+)", r.output)
    if not (g and b):
        return []
    return [
        Row(
            "MQTT gateway, one process: MQTT (QoS 1) -> Kafka, acknowledged",
            f"{_num(g[1]):,.0f} readings/s",
            ">= 20,000 readings/s and >= 0.5 of the baseline",
            f"mosquitto_sub -> Kafka producer {_num(b[1]):,.0f}/s",
            f"{_num(g[1]) / _num(b[1]):.2f}",
            r.command,
        )
    ]


def _teltonika_gateway(r: Result) -> list[Row]:
    g = _find(
        r"Teltonika gateway, one process: ([\d,]+) devices connected, p99 ([\d.]+) ms.*?, "
        r"([\d,]+) readings/s",
        r.output,
    )
    b = _find(r"baseline bare asyncio server, same devices: p99 ([\d.]+) ms", r.output)
    ratio = _find(r"ratio gateway / baseline p99: (x[\d.]+)", r.output)
    if not (g and b and ratio):
        return []
    return [
        Row(
            "Teltonika gateway, one process: devices connected, 10 records each every 30 s",
            f"{g[1]} devices, p99 {g[2]} ms (packet -> reply), {g[3]} readings/s",
            ">= 5,000 devices, p99 < 100 ms",
            f"bare asyncio server p99 {b[1]} ms",
            f"p99 {ratio[1]}",
            r.command,
        )
    ]


def _tenancy(r: Result) -> list[Row]:
    line = _find(r'^(\{"bench": "tenancy".*\})$', r.output)
    if not line:
        return []
    d = json.loads(line[1])
    return [
        Row(
            f"GET /v1/shipments as the {who} with row-level security "
            f"({d['shipments']:,} shipments)",
            f"{d[who]['rls_rps']:,.0f} req/s",
            "<= 20 % slower",
            f"without row-level security {d[who]['plain_rps']:,.0f} req/s",
            f"{d[who]['rls_rps'] / max(d[who]['plain_rps'], 1e-9):.2f}",
            r.command,
        )
        for who in ("carrier", "shipper")
    ] + [
        Row(
            f"its page's SQL alone as the {who} with row-level security",
            f"{d[who]['sql_rls_per_s']:,.0f} pages/s",
            "<= 20 % slower",
            f"without row-level security {d[who]['sql_plain_per_s']:,.0f} pages/s",
            f"{d[who]['sql_rls_per_s'] / max(d[who]['sql_plain_per_s'], 1e-9):.2f}",
            r.command,
        )
        for who in ("carrier", "shipper")
        if "sql_rls_per_s" in d[who]
    ]


PARSERS: dict[str, Callable[[Result], list[Row]]] = {
    "bench_mqtt_gateway": _mqtt_gateway,
    "bench_teltonika_gateway": _teltonika_gateway,
    "bench_alarm_quality": _alarm_quality,
    "bench_eta_error": _eta_error,
    "bench_shipment_report": _shipment_report,
    "bench_audit_verify": _audit_verify,
    "bench_stage_detection": _stage_detection,
    "bench_notify": _notify,
    "bench_simulator": _simulator,
    "bench_speed": _speed,
    "bench_bridge": _bridge,
    "bench_pipeline": _pipeline,
    "bench_batch": _batch,
    "bench_dashboard": _dashboard,
    "bench_api": _api,
    "bench_tenancy": _tenancy,
}


def _fault_rows() -> list[Row]:
    command = "make test-faults (writes build/fault-recovery.json)"
    try:
        data = json.loads(FAULT_RECOVERY.read_text())
        scenarios = data["scenarios"]
        assert isinstance(scenarios, dict)
    except (OSError, ValueError, KeyError, AssertionError):
        return [Row("recovery times of the fault scenarios", "not measured", command=command)]
    rows = []
    for name, figures in scenarios.items():
        if isinstance(figures, dict):
            value = ", ".join(f"{k} {v}" for k, v in figures.items())
        else:
            value = f"{figures} s"
        rows.append(Row(f"recovery: {name}", value, command=command))
    stamp = data.get("generated_at", "unknown time")
    return [*rows, Row(f"(recovery figures from {FAULT_RECOVERY.name}, {stamp})", "")]


def summary_rows(results: list[Result]) -> list[Row]:
    rows: list[Row] = []
    order = [
        "bench_simulator",
        "bench_mqtt_gateway",
        "bench_teltonika_gateway",
        "bench_speed",
        "bench_stage_detection",
        "bench_alarm_quality",
        "bench_eta_error",
        "bench_shipment_report",
        "bench_audit_verify",
        "bench_bridge",
        "bench_pipeline",
        "bench_batch",
        "bench_dashboard",
        "bench_api",
        "bench_tenancy",
    ]
    by_name = {r.name: r for r in results}
    for name in order + sorted(set(by_name) - set(order)):
        result = by_name.get(name)
        if result is None:
            continue
        parser = PARSERS.get(name)
        parsed = parser(result) if parser is not None and result.code == 0 else []
        rows += parsed or [
            Row(f"{name}", f"no figure (exit {result.code})", command=result.command)
        ]
    if "bench_notify" not in by_name:
        rows.append(Row("notification delays", "not measured", command="bench/bench_notify.py"))
    return rows + _fault_rows()


def summary_table(results: list[Result]) -> list[str]:
    lines = [
        "| figure | measured | goal | baseline (same run) | ratio | command |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary_rows(results):
        command = f"`{row.command}`" if row.command else ""
        lines.append(
            f"| {row.figure} | {row.value} | {row.goal} | {row.baseline} | {row.ratio} "
            f"| {command} |"
        )
    return lines


def _write_report(results: list[Result], total_s: float) -> None:
    lines = [
        "# LogiStream benchmarks",
        "",
        f"Written by `make bench` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in "
        f"{total_s / 60:.0f} minutes: {os.cpu_count()} cores, Python {platform.python_version()}, "
        "one throw-away stack (Kafka, PostgreSQL, Redis) on the same machine. Machines here can "
        "be shared and noisy (other builds and test suites may run at the same time), so absolute "
        "figures move from run to run: read the medians and the ratios against baselines "
        "measured in the same run, not single numbers. Rerun with `make bench`; one benchmark "
        "with `python bench/bench_<name>.py` (each takes `--smoke` for a few-second run).",
        "",
        "## Summary",
        "",
        *summary_table(results),
        "",
    ]
    if WHERE_THE_TIME_GOES.exists():
        lines += [WHERE_THE_TIME_GOES.read_text().rstrip(), ""]
    for r in results:
        lines += [
            f"## {r.name}",
            "",
            f"Command: `{r.command}` (exit {r.code}, {r.seconds:.0f} s)",
            "",
            "```text",
            r.output.rstrip(),
            "```",
            "",
        ]
    REPORT.write_text("\n".join(lines))
    print(f"wrote {REPORT}")


def _benchmarks(only: str | None) -> list[Path]:
    found = sorted(BENCH_DIR.glob("bench_*.py"))
    return [b for b in found if only is None or b.stem == f"bench_{only}"]


def main() -> int:
    parser = argparse.ArgumentParser(description="Run LogiStream's benchmarks.")
    parser.add_argument("--smoke", action="store_true", help="a few seconds per benchmark")
    parser.add_argument("--only", help="one benchmark, e.g. `bridge` for bench_bridge.py")
    args = parser.parse_args()

    benchmarks = _benchmarks(args.only)
    if not benchmarks:
        print(f"no benchmark named {args.only!r} in {BENCH_DIR}", file=sys.stderr)
        return 2
    results: list[Result] = []
    began = time.monotonic()
    with ExitStack() as stack:
        env = dict(os.environ)
        needs_stack = any(b.stem not in NO_SERVERS for b in benchmarks)
        if needs_stack and not os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP"):
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ls-bench-")))
            print(f"starting a benchmark stack in {home} …", flush=True)
            env.update(test_environment(stack.enter_context(temporary_stack(home))))
        for number, bench in enumerate(benchmarks, start=1):
            extra = ["--smoke"] if args.smoke else FULL_ARGS.get(bench.stem, [])
            command = [sys.executable, str(bench), *extra]
            print(f"\n[{number}/{len(benchmarks)}] {' '.join(command[1:])}", flush=True)
            started = time.monotonic()
            try:
                done = subprocess.run(
                    command,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                    cwd=BENCH_DIR.parent,
                    timeout=TIMEOUT_S["smoke" if args.smoke else "full"],
                )
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as expired:
                code, err = 124, f"timed out after {expired.timeout:.0f} s"
                out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else ""
            elapsed = time.monotonic() - started
            print(out, end="", flush=True)
            if code != 0:
                print(err[-4000:], file=sys.stderr)
            results.append(
                Result(
                    bench.stem,
                    code,
                    elapsed,
                    out,
                    " ".join(["python", f"bench/{bench.name}", *extra]),
                )
            )

    print("\nbenchmark             exit   seconds")
    for r in results:
        print(f"{r.name:<20} {r.code:>5} {r.seconds:>9.1f}")
    print(f"all benchmarks: {time.monotonic() - began:.0f} s")
    if args.smoke or args.only is None:
        # The summary is printed in smoke runs too, so CI shows the parsers still match.
        print("\n" + "\n".join(summary_table(results)))
    if not args.smoke and args.only is None:
        _write_report(results, time.monotonic() - began)
    return 0 if all(r.code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
