"""Scenario 8: fuzzing the decoders and the rules engine.

hypothesis (10,000 examples per target; derandomized when ``CI`` is set, as ``.ci/run`` does)
and atheris (libFuzzer, a fixed number of runs with a per-input timeout): only the documented
validation error, :class:`InvalidReading`, may come out; never another exception or a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.faults.fuzz_targets import FIELDS, decode_both, reading_json, run_engine
from tests.faults.support import ROWS, Row, record_recovery

EXAMPLES = int(os.environ.get("LOGISTREAM_FUZZ_EXAMPLES", "10000"))
ATHERIS_RUNS = 40_000
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=bool(os.environ.get("CI")),
    deadline=None,  # a hang is caught by pytest-timeout; durations are not asserted
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
ROOT = Path(__file__).resolve().parents[2]

# Flat values keep each example cheap: 10,000 of them must fit the suite's budget.
ANY_JSON = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.lists(st.integers(0, 9), max_size=2)
)
VALUE = ANY_JSON | st.floats(-200, 2e9) | st.sampled_from(["vaccines", "milk", "KBX 123A", ""])


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly plausible readings, with any field replaced or added by anything."""
    body: dict[str, Any] = {
        "truck_id": draw(st.sampled_from(["KBX 123A", "KCK 293K", "KCF 337F", "", "x" * 65])),
        "temp": draw(st.floats(-90, 110) | VALUE),
        "timestamp": 1_767_225_600.0 + draw(st.floats(-1e6, 1e6) | st.integers(-(10**10), 10**6)),
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        body[name] = draw(VALUE)
    if draw(st.booleans()):
        body[draw(st.text(max_size=10))] = draw(ANY_JSON)
    return body


MESSAGES = (
    st.binary(max_size=200)
    | objects().map(reading_json)
    | st.tuples(objects().map(reading_json), st.integers(0, 400)).map(lambda t: t[0][: t[1]])
    | ANY_JSON.map(reading_json)
)


@FUZZ
@given(MESSAGES)
def test_decoders_raise_only_invalid_reading(raw: bytes) -> None:
    decode_both(raw)


@FUZZ
@given(st.lists(objects().map(reading_json) | MESSAGES, min_size=1, max_size=4))
def test_rules_engine_never_crashes_on_decoded_streams(messages: list[bytes]) -> None:
    run_engine(messages)


def test_atheris_on_decoders_and_engine(tmp_path: Path) -> None:
    """A bounded libFuzzer run (fixed runs and seed, 10 s per-input timeout)."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests/faults/atheris_fuzz.py"), f"-runs={ATHERIS_RUNS}",
         "-timeout=10", "-seed=20250303", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    elapsed = time.monotonic() - began
    print(done.stderr[-3000:])
    record_recovery("8 fuzzing", "atheris_runs", ATHERIS_RUNS)
    record_recovery("8 fuzzing", "atheris_s", round(elapsed, 1))
    ok = done.returncode == 0 and f"Done {ATHERIS_RUNS} runs" in done.stderr
    ROWS["8 fuzzing (hypothesis + atheris)"] = Row(
        "8 fuzzing", result="PASS" if ok else "FAIL",
        notes=f"hypothesis {EXAMPLES} examples x 2 targets; atheris {ATHERIS_RUNS} runs",
    )  # fmt: skip
    assert ok, f"atheris exit {done.returncode}: {done.stderr[-3000:]}"
