"""Times for people are in the display zone, with the zone named; a wrong zone name is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logistream.display_time import EMPTY, in_zone, show, zone, zone_note

# 2025-03-03 05:00:00 UTC, 08:00 in Nairobi (UTC+3 all year).
EPOCH = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp()


def test_epoch_iso_and_datetime_show_the_same_wall_clock_in_nairobi() -> None:
    expected = "2025-03-03 08:00:00 EAT"
    assert show(EPOCH, "Africa/Nairobi") == expected
    assert show("2025-03-03T05:00:00+00:00", "Africa/Nairobi") == expected
    assert show("2025-03-03T06:00:00+01:00", "Africa/Nairobi") == expected
    assert show(datetime(2025, 3, 3, 5, tzinfo=UTC), "Africa/Nairobi") == expected
    assert show(EPOCH, "Africa/Nairobi", seconds=False) == "2025-03-03 08:00 EAT"


def test_a_time_without_an_offset_is_taken_as_utc() -> None:
    assert show("2025-03-03T05:00:00", "Africa/Nairobi") == "2025-03-03 08:00:00 EAT"
    assert in_zone(datetime(2025, 3, 3, 5), "UTC").utcoffset() == timedelta(0)


def test_utc_stays_utc_and_missing_times_show_a_dash() -> None:
    assert show(EPOCH, "UTC") == "2025-03-03 05:00:00 UTC"
    assert show(None, "Africa/Nairobi") == EMPTY
    assert show("", "Africa/Nairobi") == EMPTY


def test_summer_time_moves_the_offset_and_the_abbreviation() -> None:
    winter = datetime(2025, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2025, 7, 15, 12, tzinfo=UTC)
    assert show(winter, "Europe/London") == "2025-01-15 12:00:00 GMT"
    assert show(summer, "Europe/London") == "2025-07-15 13:00:00 BST"
    assert zone_note("Europe/London", summer) == "Europe/London (BST, UTC+01:00)"
    assert zone_note("Africa/Nairobi", EPOCH) == "Africa/Nairobi (EAT, UTC+03:00)"
    assert in_zone(summer, "Europe/London").utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "EAT", "", "../etc/passwd", "/etc/x"])
def test_a_name_that_is_no_time_zone_is_refused_in_words(name: str) -> None:
    with pytest.raises(ValueError, match="is not a time zone name; use an IANA name"):
        zone(name)
