"""A bounded on-disk spool: what a truck keeps while Kafka is unreachable, sent when it is back.

Messages are stored as they would be sent (key and value bytes), so a spooled reading keeps its
``event_id`` and a resend is never a new reading. The spool is a folder of numbered segment files
of length-prefixed records; a segment is deleted only once every record read from it has been
resolved (acknowledged by Kafka, or appended again to the spool). A crash before that resends a
few readings with the ids they already had, which the archive counts once.

The spool is bounded: when it would outgrow ``max_bytes``, the oldest segment not being read is
dropped and counted, as an edge device with a full memory card would.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

_HEADER: Final = struct.Struct(">iI")  # key length (-1: no key), value length
SUFFIX: Final = ".seg"

Record = tuple[bytes | None, bytes]


@dataclass(slots=True, eq=False)
class Segment:
    """One spool file; ``records`` counts what it holds, ``resolved`` what came back from Kafka."""

    path: Path
    number: int
    records: int = 0
    size: int = 0
    read_pos: int = 0
    handed_out: int = 0
    resolved: int = 0
    data: bytes | None = field(default=None, repr=False)

    @property
    def fully_read(self) -> bool:
        return self.data is not None and self.read_pos >= len(self.data)


def _parse(data: bytes, pos: int) -> tuple[Record, int] | None:
    """The record at ``pos`` and the position after it; None at the end or at a torn write."""
    end = pos + _HEADER.size
    if end > len(data):
        return None
    key_len, value_len = _HEADER.unpack_from(data, pos)
    key_end = end + max(key_len, 0)
    value_end = key_end + value_len
    if value_end > len(data):
        return None
    key = data[end:key_end] if key_len >= 0 else None
    return (key, data[key_end:value_end]), value_end


def _records(data: bytes) -> Iterator[Record]:
    pos = 0
    while (parsed := _parse(data, pos)) is not None:
        record, pos = parsed
        yield record


class Spool:
    """Append at the tail, read from the head, delete a segment once all its records resolved."""

    def __init__(
        self, directory: Path, max_bytes: int = 256 * 1024 * 1024, segment_bytes: int | None = None
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(64 * 1024, min(8 * 1024 * 1024, max_bytes // 8))
        self.dropped = 0
        """Records deleted unsent because the spool was full."""
        directory.mkdir(parents=True, exist_ok=True)
        self._segments: list[Segment] = []
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            data = path.read_bytes()
            count = sum(1 for _ in _records(data))
            if count == 0:
                path.unlink()
                continue
            self._segments.append(Segment(path, int(path.stem), count, len(data)))
        self._next = self._segments[-1].number + 1 if self._segments else 1
        self._tail: Segment | None = None
        self._writer: BinaryIO | None = None
        self._reading: Segment | None = None

    # --- writing ---------------------------------------------------------------------------------

    def append(self, key: bytes | None, value: bytes) -> None:
        """Keep one message (its bytes exactly as they will be sent)."""
        tail = self._tail
        if tail is None or tail.size >= self.segment_bytes:
            tail = self._roll()
        header = _HEADER.pack(-1 if key is None else len(key), len(value))
        assert self._writer is not None
        self._writer.write(header)
        if key:
            self._writer.write(key)
        self._writer.write(value)
        size = len(header) + (len(key) if key else 0) + len(value)
        tail.records += 1
        tail.size += size
        self._enforce_bound()

    def _roll(self) -> Segment:
        self._close_writer()
        path = self.directory / f"{self._next:010d}{SUFFIX}"
        segment = Segment(path, self._next)
        self._next += 1
        self._writer = path.open("ab")
        self._segments.append(segment)
        self._tail = segment
        return segment

    def _close_writer(self, sync: bool = False) -> None:
        if self._writer is not None:
            self._writer.flush()
            if sync:
                os.fsync(self._writer.fileno())
            self._writer.close()
            self._writer = None
            self._tail = None

    def _enforce_bound(self) -> None:
        total = sum(s.size for s in self._segments)
        while total > self.max_bytes:
            victim = next(
                (s for s in self._segments if s is not self._reading and s is not self._tail),
                None,
            )
            if victim is None:
                return
            total -= victim.size
            self.dropped += victim.records - victim.handed_out
            self._segments.remove(victim)
            victim.path.unlink(missing_ok=True)

    def flush(self) -> None:
        """Hand buffered records to the operating system."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Write everything to disk; what is unsent stays for the next run."""
        self._close_writer(sync=True)

    # --- reading ---------------------------------------------------------------------------------

    @property
    def unread(self) -> int:
        """Records on disk not yet handed out for sending."""
        return sum(s.records - s.handed_out for s in self._segments)

    @property
    def bytes_on_disk(self) -> int:
        return sum(s.size for s in self._segments)

    def has_unread(self) -> bool:
        return any(s.records > s.handed_out for s in self._segments)

    def read(self, max_records: int) -> tuple[Segment, list[Record]] | None:
        """Up to ``max_records`` from the oldest unread segment (the tail is closed first)."""
        segment = self._reading
        if segment is None or segment.fully_read:
            segment = next((s for s in self._segments if s.records > s.handed_out), None)
            if segment is None:
                return None
            if segment is self._tail:
                self._close_writer()
            segment.data = segment.path.read_bytes()
            self._reading = segment
        assert segment.data is not None
        out: list[Record] = []
        pos = segment.read_pos
        while len(out) < max_records and (parsed := _parse(segment.data, pos)) is not None:
            record, pos = parsed
            out.append(record)
        if _parse(segment.data, pos) is None:
            pos = len(segment.data)  # a torn last record is not data
        segment.read_pos = pos
        segment.handed_out += len(out)
        if segment.fully_read:
            segment.records = segment.handed_out
            segment.data = b""
        return segment, out

    def resolved(self, segment: Segment, count: int = 1) -> None:
        """``count`` records of ``segment`` were acknowledged or spooled again."""
        segment.resolved += count
        if segment.fully_read and segment.resolved >= segment.records:
            if segment in self._segments:
                self._segments.remove(segment)
            segment.path.unlink(missing_ok=True)
            if self._reading is segment:
                self._reading = None

    def __iter__(self) -> Iterator[Record]:
        """Every record on disk, oldest first (for inspection and tests; reads nothing out)."""
        self.flush()
        for segment in list(self._segments):
            if segment.path.exists():
                yield from _records(segment.path.read_bytes())
