"""Run every benchmark (bench/bench_*.py) against one throw-away stack; write BENCHMARKS.md.

    python -m bench.run_all            # full runs, then BENCHMARKS.md
    python -m bench.run_all --smoke    # a few seconds each, so none of them rots (CI runs this)
    python -m bench.run_all --only bridge

Each benchmark reads LOGISTREAM_TEST_* for its servers (like the tests) and makes its own
topics and database; set those variables to use servers you already run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from logistream.stack.temporary import temporary_stack, test_environment

BENCH_DIR = Path(__file__).resolve().parent
REPORT = BENCH_DIR.parent / "BENCHMARKS.md"


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
    results: list[tuple[str, int, float, str]] = []
    with ExitStack() as stack:
        env = dict(os.environ)
        if not os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP"):
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ls-bench-")))
            print(f"starting a benchmark stack in {home} …", flush=True)
            env.update(test_environment(stack.enter_context(temporary_stack(home))))
        for number, bench in enumerate(benchmarks, start=1):
            command = [sys.executable, str(bench), *(["--smoke"] if args.smoke else [])]
            print(f"\n[{number}/{len(benchmarks)}] {' '.join(command[1:])}", flush=True)
            started = time.monotonic()
            done = subprocess.run(
                command,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                cwd=BENCH_DIR.parent,
            )
            elapsed = time.monotonic() - started
            print(done.stdout, end="", flush=True)
            if done.returncode != 0:
                print(done.stderr[-4000:], file=sys.stderr)
            results.append((bench.stem, done.returncode, elapsed, done.stdout))

    print("\nbenchmark             exit   seconds")
    for name, code, elapsed, _ in results:
        print(f"{name:<20} {code:>5} {elapsed:>9.1f}")
    if not args.smoke and args.only is None:
        _write_report(results)
    return 0 if all(code == 0 for _, code, _, _ in results) else 1


def _write_report(results: list[tuple[str, int, float, str]]) -> None:
    lines = [
        "# LogiStream benchmarks",
        "",
        f"Written by `make bench` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, on one shared machine: "
        "figures are medians of several runs with ratios against baselines measured in the same "
        "run, as each section says.",
        "",
    ]
    for name, code, elapsed, output in results:
        lines += [
            f"## {name}",
            "",
            f"Command: `python bench/{name}.py` (exit {code}, {elapsed:.0f} s)",
            "",
            "```text",
            output.rstrip(),
            "```",
            "",
        ]
    REPORT.write_text("\n".join(lines))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    sys.exit(main())
