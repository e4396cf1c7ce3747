"""A recurring problem is logged once per period per key, with how many were held back."""

from __future__ import annotations

import logging

import pytest

from logistream.rate_limited_log import RateLimitedLog


def test_once_per_minute_per_key_with_the_count_held(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("t"), period_s=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        assert limited.warning("dev-1", "bad %s", "a")
        assert not limited.warning("dev-1", "bad %s", "b")
        assert not limited.warning("dev-1", "bad %s", "c")
        assert limited.warning("dev-2", "bad %s", "d")  # another key is its own
        now[0] = 60.0
        assert limited.warning("dev-1", "bad %s", "e")
    assert [r.getMessage() for r in caplog.records] == [
        "bad a",
        "bad d",
        "bad e (and 2 more like it in the last 60 s)",
    ]
