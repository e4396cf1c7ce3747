"""A stop requested before a long-running command is ready is remembered, not lost.

``logistream speed``, ``bridge``, ``simulate`` or ``notify`` takes a second or more to import
and connect; a SIGTERM in that window used to kill the process with the default action (exit
-15) instead of a clean exit 0. The console script installs :func:`remember_early_stops` first
thing for long-running commands, and each asks :func:`stop_requested_early` once its own
handler is in place.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_early_stop = threading.Event()


def _remember(signum: int, _frame: FrameType | None) -> None:
    _early_stop.set()


def remember_early_stops() -> None:
    """Until a command installs its own handlers, SIGINT/SIGTERM only record a stop request."""
    signal.signal(signal.SIGINT, _remember)
    signal.signal(signal.SIGTERM, _remember)


def stop_requested_early() -> bool:
    """Whether a SIGINT/SIGTERM arrived before the command's own handlers were installed."""
    return _early_stop.is_set()
