"""Log once per device and reason per minute (``ingest.log_once``), with the held-back count."""

from __future__ import annotations

from logistream.ingest.log_once import LogOnce


def test_one_line_per_key_per_window_counting_the_quiet_ones() -> None:
    quiet = LogOnce(window_s=60.0)
    assert quiet.check(("imei", "crc_mismatch"), 0.0) == 0
    assert quiet.check(("imei", "crc_mismatch"), 10.0) is None
    assert quiet.check(("imei", "crc_mismatch"), 59.9) is None
    # Another device, or another reason, has its own line.
    assert quiet.check(("other", "crc_mismatch"), 10.0) == 0
    assert quiet.check(("imei", "unknown_codec"), 10.0) == 0
    assert quiet.check(("imei", "crc_mismatch"), 60.0) == 2
    assert quiet.check(("imei", "crc_mismatch"), 61.0) is None


def test_memory_stays_bounded_under_a_flood_of_new_keys() -> None:
    quiet = LogOnce(window_s=60.0, max_keys=100)
    for n in range(10_000):
        assert quiet.check(f"forged-{n}", n / 1000) == 0
    assert len(quiet._last) <= 100
