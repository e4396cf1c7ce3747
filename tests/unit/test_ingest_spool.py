"""The on-disk spool: order, persistence across runs, resolution, bound, torn writes."""

from __future__ import annotations

from pathlib import Path

from logistream.ingest.spool import Spool


def _fill(spool: Spool, n: int, size: int = 100) -> list[tuple[bytes | None, bytes]]:
    records: list[tuple[bytes | None, bytes]] = []
    for i in range(n):
        key = None if i % 7 == 0 else f"KBX {i:03d}A".encode()
        value = f'{{"seq":{i}}}'.encode().ljust(size, b" ")
        spool.append(key, value)
        records.append((key, value))
    return records


def _drain(spool: Spool, batch: int = 33) -> list[tuple[bytes | None, bytes]]:
    out = []
    while (got := spool.read(batch)) is not None:
        segment, records = got
        out.extend(records)
        spool.resolved(segment, len(records))
    return out


def test_records_come_back_in_order_and_segments_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000, segment_bytes=2_000)
    records = _fill(spool, 200)
    assert spool.unread == 200
    assert len(list(tmp_path.glob("*.seg"))) > 5
    assert _drain(spool) == records
    assert spool.unread == 0
    assert not spool.has_unread()
    assert list(tmp_path.glob("*.seg")) == []


def test_a_segment_stays_until_every_record_is_resolved(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000, segment_bytes=1_000_000)
    _fill(spool, 10)
    got = spool.read(100)
    assert got is not None
    segment, records = got
    assert len(records) == 10
    spool.resolved(segment, 9)
    assert segment.path.exists()
    spool.resolved(segment)
    assert not segment.path.exists()


def test_unsent_records_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=1_500)
    records = _fill(spool, 50)
    spool.close()
    again = Spool(tmp_path, segment_bytes=1_500)
    assert again.unread == 50
    more = _fill(again, 5)
    assert _drain(again) == records + more


def test_a_torn_last_record_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    records = _fill(spool, 3)
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    with segment.open("ab") as f:
        f.write(b"\x00\x00\x00\x05\x00\x00\x01\x00KBX")  # header and part of a record
    assert _drain(Spool(tmp_path)) == records


def test_the_bound_drops_the_oldest_and_counts_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=20_000, segment_bytes=2_000)
    _fill(spool, 1_000)
    assert spool.bytes_on_disk <= 20_000 + 2_000
    assert spool.dropped > 0
    kept = _drain(spool)
    assert len(kept) + spool.dropped == 1_000
    assert kept[-1][1].startswith(b'{"seq":999}')  # the newest are kept
