"""`batch --from` and `report fleet --from/--to`: days (dates, today, yesterday) are days in the
display zone, and a last day is included whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

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


EAT = timezone(timedelta(hours=3))


def test_today_and_yesterday_are_days_in_the_display_zone() -> None:
    assert _parse_day("today", "--from", NOW) == datetime(2025, 3, 4, tzinfo=EAT)
    assert _parse_day("Yesterday", "--from", NOW) == datetime(2025, 3, 3, tzinfo=EAT)


def test_a_date_starts_at_local_midnight_and_a_last_day_is_whole() -> None:
    assert _parse_day("2025-03-03", "--from") == datetime(2025, 3, 2, 21, tzinfo=UTC)
    assert _parse_day("2025-03-03", "--to", whole_day=True) == datetime(2025, 3, 4, tzinfo=EAT)
    # `--to yesterday` names all of yesterday (before, it ended at yesterday's start).
    assert _parse_day("yesterday", "--to", NOW, whole_day=True) == datetime(2025, 3, 4, tzinfo=EAT)


def test_date_times_are_taken_as_they_are_and_nonsense_is_refused() -> None:
    assert _parse_day("2025-03-03T05:00", "--from") == datetime(2025, 3, 3, 5, tzinfo=UTC)
    assert _parse_day("2025-03-03T08:00+03:00", "--to", whole_day=True) == datetime(
        2025, 3, 3, 5, tzinfo=UTC
    )
    with pytest.raises(ConfigError, match="today, yesterday"):
        _parse_day("tomorrow-ish", "--from")
