"""A batch run's clock and its progress lines: when it began, and each step as it is done."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Progress = Callable[[str, float], None]
"""Called after each step with a one-line description and the seconds since the run began."""


class RunClock:
    """Started with the run: ``step`` reports a finished step to the caller's ``Progress``."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self.began = time.monotonic()
        self.started_at = datetime.now(UTC)
        """Wall-clock start, recorded in ``batch_runs``."""

    def seconds(self) -> float:
        """Seconds since the run began (monotonic)."""
        return time.monotonic() - self.began

    def step(self, what: str) -> None:
        if self._progress is not None:
            self._progress(what, self.seconds())
