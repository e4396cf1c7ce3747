"""``logistream audit verify``: walk ``audit_log`` in seq order and recompute the hash chain,
naming the first break.

The walk (:class:`ChainWalker`) is pure: it is fed rows one by one and keeps only the previous
row's seq and hash, so memory stays constant however long the log. :func:`verify` streams the
rows through a server-side cursor (one snapshot: rows appended meanwhile are left for the next
run) and reports progress every :data:`PROGRESS_EVERY` rows.

What a break means (the first found is reported, in one line):
- ``altered``: a row's hash does not match its content (a field was changed in place);
- ``deleted``: a seq gap (seq is gapless by construction, see ``trail.py``), or a row's
  prev_hash does not match the previous row's hash (a row between them was deleted and the
  seqs renumbered, or the previous row was rewritten together with its hash).
Limits (the issue is silent): deleting the newest rows leaves a shorter, valid chain; compare
the reported last seq and hash with an earlier run or a backup to catch that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from logistream.audit.chain import GENESIS_HASH, ChainRow, row_hash

if TYPE_CHECKING:
    import psycopg

PROGRESS_EVERY: Final = 250_000
FETCH_ROWS: Final = 10_000

ADVICE: Final = (
    "the audit log was changed outside LogiStream: keep this database as evidence, compare it "
    "with the latest backup (restore it into a scratch database and run `logistream audit "
    "verify` there) and review who holds the database superuser"
)

BreakKind = Literal["altered", "deleted"]

COLUMNS: Final = (
    "seq, at, actor, source, organisation, action, subject_kind, subject_id, before, after, "
    "reason, prev_hash, row_hash"
)
"""The stored columns in the order :meth:`ChainWalker.feed` takes them."""

AT_TEXT: Final = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
"""``at`` as :func:`chain.iso_utc` writes it, made by the server (years 1000-9999)."""

TEXT_COLUMNS: Final = (
    f"seq, {AT_TEXT}, actor, source, organisation, action, subject_kind, subject_id, "
    "before::text, after::text, reason, prev_hash, row_hash"
)
"""What :func:`verify` fetches: plain text, so the client parses no timestamps and only the
JSON it needs (two to three times faster than the typed columns; see the benchmark)."""


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    kind: BreakKind
    detail: str

    def line(self) -> str:
        return f"audit log {self.kind} at seq {self.seq}: {self.detail}; {ADVICE}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    rows: int
    last_seq: int | None
    last_hash: str
    broken: ChainBreak | None

    def line(self) -> str:
        if self.broken is not None:
            return self.broken.line()
        return f"audit log intact: {self.rows} rows, last hash {self.last_hash}"


class ChainWalker:
    """Checks stored rows in seq order against the chain; stops at the first break."""

    def __init__(self) -> None:
        self.rows = 0
        self.last_seq: int | None = None
        self.last_hash = GENESIS_HASH
        self.broken: ChainBreak | None = None

    def feed(self, stored: tuple[Any, ...]) -> ChainBreak | None:
        """One stored row (``COLUMNS`` order); the break it reveals, if any."""
        if self.broken is not None:
            return self.broken
        seq, prev_hash, stored_hash = int(stored[0]), str(stored[11]), str(stored[12])
        expected_seq = 1 if self.last_seq is None else self.last_seq + 1
        if seq != expected_seq:
            missing = (
                f"seq {expected_seq}"
                if seq == expected_seq + 1
                else f"seqs {expected_seq}-{seq - 1}"
            )
            self.broken = ChainBreak(seq, "deleted", f"{missing} missing before it")
        elif prev_hash != self.last_hash:
            previous = (
                "the genesis hash" if self.last_seq is None else f"seq {self.last_seq}'s hash"
            )
            self.broken = ChainBreak(
                seq,
                "deleted",
                f"its prev_hash does not match {previous} (a row before it was deleted and the "
                "rest renumbered, or the row before it was rewritten with a new hash)",
            )
        elif row_hash(prev_hash, ChainRow(*stored[:11])) != stored_hash:
            self.broken = ChainBreak(
                seq, "altered", "its hash does not match its content (a field was changed)"
            )
        if self.broken is None:
            self.rows += 1
            self.last_seq = seq
            self.last_hash = stored_hash
        return self.broken

    def result(self) -> VerifyResult:
        return VerifyResult(self.rows, self.last_seq, self.last_hash, self.broken)


def walk(
    rows: Iterable[tuple[Any, ...]],
    progress: Callable[[int], None] | None = None,
    *,
    every: int = PROGRESS_EVERY,
) -> VerifyResult:
    """The chain check over ``rows`` (pure); ``progress(n)`` every ``every`` rows."""
    walker = ChainWalker()
    for n, stored in enumerate(rows, start=1):
        if walker.feed(stored) is not None:
            break
        if progress is not None and n % every == 0:
            progress(n)
    return walker.result()


def verify(
    conn: psycopg.Connection[Any], progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Stream ``audit_log`` in seq order through a server-side cursor and walk the chain.

    Works on an autocommit connection or not (the cursor needs a transaction: one is opened and
    ended here). Any role with SELECT on audit_log will do (the reader's).
    """
    import json

    from psycopg.rows import tuple_row

    def parsed(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        loads = json.loads
        for r in rows:
            before = r[8] if r[8] is None else loads(r[8])
            after = r[9] if r[9] is None else loads(r[9])
            yield (*r[:8], before, after, *r[10:])

    with conn.transaction(), conn.cursor("audit_verify", row_factory=tuple_row) as cur:
        cur.itersize = FETCH_ROWS
        cur.execute(f"SELECT {TEXT_COLUMNS} FROM audit_log ORDER BY seq")
        return walk(parsed(cur), progress)
