"""`batch --from` and `report fleet --from/--to` take today and yesterday, in the display zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from logistream.batch.report_cli import _parse_day
from logistream.config import get_settings
from logistream.errors import ConfigError

# 22:30 UTC on 3 March is already 4 March in Nairobi (UTC+3).
NOW = datetime(2025, 3, 3, 22, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _nairobi(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOGISTREAM_TIMEZONE", "Africa/Nairobi")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_today_and_yesterday_are_days_in_the_display_zone() -> None:
    assert _parse_day("today", "--from", NOW) == datetime(2025, 3, 4, tzinfo=UTC)
    assert _parse_day("Yesterday", "--from", NOW) == datetime(2025, 3, 3, tzinfo=UTC)


def test_dates_and_times_parse_as_before_and_nonsense_is_refused() -> None:
    assert _parse_day("2025-03-03", "--from") == datetime(2025, 3, 3, tzinfo=UTC)
    with pytest.raises(ConfigError, match="today, yesterday"):
        _parse_day("tomorrow-ish", "--from")
