"""The fault suite (``make test-faults``): marks, the results table and the recovery figures."""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from tests.faults.support import RECOVERY, ROWS, Row

RECOVERY_FILE = Path(__file__).resolve().parents[2] / "build" / "fault-recovery.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults" in str(item.path):
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    row = ROWS.get(item.nodeid)
    if row is None and report.failed:
        # Died before its oracle ran (a timeout, a server that never came back).
        ROWS[item.nodeid] = Row(item.name, result="ERROR")
    elif row is not None and report.failed and row.result == "PASS":
        row.result = "FAIL"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    header = (
        "scenario",
        "acknowledged",
        "archived",
        "duplicates",
        "missing",
        "alerts exp/raised",
        "result",
    )
    lines = [
        (
            r.scenario,
            str(r.acknowledged),
            str(r.archived),
            str(r.duplicates),
            str(r.missing),
            f"{r.alerts_expected}/{r.alerts_raised}",
            r.result,
        )
        for r in ROWS.values()
    ]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    write = terminalreporter.write_line
    terminalreporter.section("fault suite")
    write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for line in lines:
        write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    for r in ROWS.values():
        if r.notes:
            write(f"{r.scenario}: {r.notes}")
    if RECOVERY:
        RECOVERY_FILE.parent.mkdir(parents=True, exist_ok=True)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        # A run of some scenarios updates theirs and keeps the others' last figures.
        scenarios: dict[str, Any] = {}
        if RECOVERY_FILE.exists():
            try:
                scenarios = json.loads(RECOVERY_FILE.read_text()).get("scenarios", {})
            except (ValueError, AttributeError):
                scenarios = {}
        scenarios.update({name: {**v, "measured_at": now} for name, v in RECOVERY.items()})
        document = {
            "generated_at": now,
            "unit": "seconds",
            "what": "time from the end of a fault (restart) until the pipeline caught up; "
            "figures for the benchmark report, not assertions",
            "scenarios": dict(sorted(scenarios.items())),
        }
        RECOVERY_FILE.write_text(json.dumps(document, indent=2) + "\n")
        write(f"recovery times: {RECOVERY_FILE}")
