"""One way to stop: the first SIGINT/SIGTERM asks for a clean stop, a second one kills at once.

A clean stop (DESIGN.md) finishes or abandons the batch in hand without losing it, commits what
the command owns and exits 0; each long-running command runs inside :func:`stop_on_signals`
and watches the event it yields (or is told through :func:`on_stop`). A second signal, for
someone who will not wait, restores the default action and raises the signal again: the process
ends at once, killed by it (a shell shows 130 for SIGINT, 143 for SIGTERM). Nothing committed is
lost that way; what was in hand is processed again on the next start.

The request is one per process. The console script installs the same handler first thing for
long-running commands (:func:`remember_early_stops`), so a SIGTERM during their second or more
of imports and connecting is kept, not turned into the default exit -15: the command finds the
event already set when it enters :func:`stop_on_signals`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

_requested = threading.Event()
_callbacks: list[Callable[[], None]] = []


def _handle(signum: int, _frame: FrameType | None) -> None:
    if _requested.is_set():
        # The second stop: kill at once, as if no handler were installed.
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        return
    request_stop()


def request_stop() -> None:
    """Ask for a clean stop, as a first signal does (the callbacks run once, on this thread)."""
    if _requested.is_set():
        return
    _requested.set()
    for callback in list(_callbacks):
        callback()


def stop_requested() -> bool:
    """Whether a clean stop was asked for (by a signal or :func:`request_stop`)."""
    return _requested.is_set()


def remember_early_stops() -> None:
    """Install the handler before a long-running command's slow start: a stop is recorded."""
    for signum in SIGNALS:
        signal.signal(signum, _handle)


def on_stop(callback: Callable[[], None]) -> None:
    """Call ``callback`` when a stop is asked for (at once if it already was), until the
    outermost :func:`stop_on_signals` ends. It runs inside the signal handler: keep it short
    (set a flag), and never log or print from it."""
    _callbacks.append(callback)
    if _requested.is_set():
        callback()


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Within: the first SIGINT/SIGTERM sets the yielded event, a second kills the process.

    The event is already set when a stop came first (during start-up). On exit the previous
    handlers are back; the outermost context also forgets the request and the callbacks, so
    that a program (or a test) may run another command in the same process.
    """
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    outermost = any(handler is not _handle for handler in previous.values())
    remember_early_stops()
    try:
        yield _requested
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: not installed from Python; leave ours
                signal.signal(signum, handler)
        if outermost:
            _requested.clear()
            _callbacks.clear()
