"""The live stream's resume point: LogiStream's alert-change sequence numbers (no servers)."""

from __future__ import annotations

import re

from logistream.api.streaming import EVENT_ID_PATTERN, SINCE_PATTERN, start_after


def test_last_event_id_wins_over_since_and_dollar_means_from_now_on() -> None:
    assert start_after("$", None) is None
    assert start_after("0", None) == 0
    assert start_after("1767225600000042", None) == 1767225600000042
    assert start_after("$", "17") == 17
    assert start_after("5", "17") == 17


def test_ids_are_whole_numbers_not_store_ids() -> None:
    assert re.match(SINCE_PATTERN, "$")
    assert re.match(SINCE_PATTERN, "0")
    assert re.match(EVENT_ID_PATTERN, "1767225600000042")
    for store_id in ("1767225600000-0", "$", "-1", "1.5", ""):
        assert not re.match(EVENT_ID_PATTERN, store_id)
    assert not re.match(SINCE_PATTERN, "1767225600000-0")
