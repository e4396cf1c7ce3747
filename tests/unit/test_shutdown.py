"""The one stop mechanism, in this process: a first SIGINT/SIGTERM asks for a clean stop, a
stop during start-up is remembered, and a second signal kills (checked in a child process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from logistream import shutdown


@pytest.fixture(autouse=True)
def _restore_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in shutdown.SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_first_signal_asks_for_a_clean_stop_and_calls_back_once(signum: int) -> None:
    before = signal.getsignal(signum)
    called: list[str] = []
    with shutdown.stop_on_signals() as stop:
        shutdown.on_stop(lambda: called.append("stop"))
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        assert _wait_for(stop.is_set)
        assert shutdown.stop_requested()
        assert called == ["stop"]
    # Outside again: the previous handler is back and the request is forgotten.
    assert signal.getsignal(signum) is before
    assert not shutdown.stop_requested()
    assert not stop.is_set()


def test_a_stop_during_start_up_is_found_by_the_command() -> None:
    shutdown.remember_early_stops()
    os.kill(os.getpid(), signal.SIGTERM)
    assert _wait_for(shutdown.stop_requested)
    called: list[str] = []
    with shutdown.stop_on_signals() as stop:
        assert stop.is_set()
        shutdown.on_stop(lambda: called.append("late"))  # registered after the stop: called now
        assert called == ["late"]
    # The early handler stays (the console script installed it), the request too.
    assert shutdown.stop_requested()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with shutdown.stop_on_signals():
        pass  # the outermost context now: it forgets the request
    assert not shutdown.stop_requested()


def test_request_stop_is_a_first_signal_without_one() -> None:
    called: list[int] = []
    with shutdown.stop_on_signals() as stop:
        shutdown.on_stop(lambda: called.append(1))
        shutdown.request_stop()
        shutdown.request_stop()
        assert stop.is_set()
        assert called == [1]


CHILD = """
import sys, time
from logistream import shutdown
with shutdown.stop_on_signals() as stop:
    print("ready", flush=True)
    stop.wait(60)
    print("stopping cleanly", flush=True)
    time.sleep(60)  # a slow clean stop: only a second signal ends it early
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_kills_at_once(signum: int) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        child.send_signal(signum)
        assert child.stdout.readline() == b"stopping cleanly\n"
        assert child.poll() is None, "a first signal must not end the process"
        child.send_signal(signum)
        assert child.wait(timeout=10) == -signum
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
