"""A log that says a recurring problem once per period per key (a device, a reason), with how
many times it happened since it last said so: a misconfigured tracker sending every second must
not flood the log, and the count must not be lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        period_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.period_s = period_s
        self.clock = clock
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def warning(self, key: Hashable, message: str, *args: object) -> bool:
        """Log ``message`` unless ``key`` was logged less than a period ago; True when logged."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.period_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        self._last[key] = now
        if held:
            message += f" (and {held} more like it in the last {self.period_s:g} s)"
        self.logger.warning(message, *args)
        return True
