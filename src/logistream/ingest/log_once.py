"""Log a device's trouble once per minute, not once per packet.

A misconfigured tracker retries every few seconds, for days: one line per attempt would bury
everything else in the log. :class:`LogOnce` says whether a key (a device and what went wrong)
may be logged now, and how many times it was kept quiet since its last line, so the line can say
so. Pure: the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Final

WINDOW_S: Final = 60.0
MAX_KEYS: Final = 10_000
"""Forget quiet keys beyond this many, so a stream of forged IMEIs cannot grow memory."""


class LogOnce:
    """Per key: one line per ``window_s``, counting the ones held back."""

    def __init__(self, window_s: float = WINDOW_S, max_keys: int = MAX_KEYS) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def check(self, key: Hashable, now: float) -> int | None:
        """None: keep quiet (counted). A number: log now; it is how many were held back since
        the key's last line."""
        last = self._last.get(key)
        if last is not None and now - last < self.window_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if last is None and len(self._last) >= self.max_keys:
            self._forget(now)
        self._last[key] = now
        return self._held.pop(key, 0)

    def _forget(self, now: float) -> None:
        for key in [k for k, t in self._last.items() if now - t >= self.window_s]:
            del self._last[key]
            self._held.pop(key, None)
        if len(self._last) >= self.max_keys:  # all recent: drop the oldest half
            for key in sorted(self._last, key=self._last.__getitem__)[: self.max_keys // 2]:
                del self._last[key]
                self._held.pop(key, None)
