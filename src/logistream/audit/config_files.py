"""Record the rules and cargo profiles files a service starts with, when they changed:
``record_config_files(conn, actor, files)`` compares each file's sha256 with the newest
``rules_file_changed`` row for that file name and appends one when it differs (or when the
file was never recorded), ``before``/``after`` = ``{"sha256": ..., "path": ...}``.

Choices where the issue is silent:
- ``files`` maps where the service read each file (a path, or e.g. ``shipped:rules.toml``) to
  its bytes; the subject id is the file name (the last path part), so the same file moved to
  another folder unchanged is not a change, while its path is kept in the row.
- ``cargo.toml`` is recorded as subject kind ``cargo_profiles``, any other file as
  ``rules_file``; the action is always ``rules_file_changed``.
- The comparison and the appends run in one transaction under the audit lock, so two services
  starting together with the same new file record it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from logistream.audit.trail import AUDIT_LOCK_KEY, Actor, record

if TYPE_CHECKING:
    import psycopg

ACTION: Final = "rules_file_changed"
SUBJECT_KINDS: Final[Mapping[str, str]] = {"cargo.toml": "cargo_profiles"}
DEFAULT_KIND: Final = "rules_file"


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One file whose digest differs from the newest recorded one."""

    subject_kind: str
    name: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]


def file_name(where: str) -> str:
    """The last part of a path (``/etc/ls/rules.toml``, ``shipped:rules.toml``: rules.toml)."""
    return PurePosixPath(where.replace("\\", "/").rsplit(":", 1)[-1]).name or where


def subject_kind(name: str) -> str:
    return SUBJECT_KINDS.get(name, DEFAULT_KIND)


def changes(
    files: Mapping[str, bytes], recorded: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[ConfigChange]:
    """The files to record (pure): ``recorded`` is the newest ``after`` per (kind, name)."""
    found: list[ConfigChange] = []
    for where in sorted(files):
        name = file_name(where)
        kind = subject_kind(name)
        digest = hashlib.sha256(files[where]).hexdigest()
        last = recorded.get((kind, name))
        if last is not None and last.get("sha256") == digest:
            continue
        found.append(ConfigChange(kind, name, last, {"sha256": digest, "path": where}))
    return found


_LAST: Final = """
SELECT after FROM audit_log
WHERE subject_kind = %s AND subject_id = %s AND action = %s
ORDER BY seq DESC LIMIT 1
"""


def record_config_files(
    conn: psycopg.Connection[Any], actor: Actor, files: Mapping[str, bytes]
) -> Sequence[int]:
    """Append a ``rules_file_changed`` row per changed file; the seqs appended (often none).

    In the caller's transaction, as ``trail.record`` (its own if the connection autocommits).
    """
    if conn.autocommit:
        with conn.transaction():
            return _record(conn, actor, files)
    return _record(conn, actor, files)


def _record(conn: psycopg.Connection[Any], actor: Actor, files: Mapping[str, bytes]) -> list[int]:
    from psycopg.rows import tuple_row

    recorded: dict[tuple[str, str], Mapping[str, Any]] = {}
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
        for where in files:
            name = file_name(where)
            key = (subject_kind(name), name)
            cur.execute(_LAST, [*key, ACTION])
            row = cur.fetchone()
            if row is not None and isinstance(row[0], dict):
                recorded[key] = row[0]
    return [
        record(
            conn,
            actor,
            action=ACTION,
            subject_kind=change.subject_kind,
            subject_id=change.name,
            before=change.before,
            after=change.after,
            reason=f"{actor.name} started with this file",
        )
        for change in changes(files, recorded)
    ]
