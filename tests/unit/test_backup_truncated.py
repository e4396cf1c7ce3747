"""A backup cut short (a copy that stopped, a full disk) is refused in one line, never a traceback.

The backup file is written by the real writer (``write_backup``) and then truncated at points
that fall in each member: the manifest, the dump's header and body, the registry files.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.helpers import LOGISTREAM, seeded_random

from logistream.backup.bundle import Manifest, read_backup, registry_in_use, write_backup
from logistream.errors import BackupError

DUMP_BYTES = 3_000_000


def _backup(folder: Path) -> Path:
    rng = seeded_random("backup-truncated")
    dump = folder / "database.dump"
    dump.write_bytes(rng.randbytes(DUMP_BYTES))
    manifest = Manifest(
        created_at="2026-12-07T00:00:00+00:00",
        logistream_version="test",
        source={"database": "logistream"},
        postgres={"server_version": "15"},
        schema_version=[],
        row_counts={"readings": 0},
        kafka_offsets=[],
        registry={},
    )
    registry = {name: content for name, (content, _source) in registry_in_use(None).items()}
    output = folder / "backup.tar"
    write_backup(output, manifest, dump, registry)
    return output


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _backup(tmp_path_factory.mktemp("backup"))


def _cut(backup: Path, keep: int, folder: Path) -> Path:
    cut = folder / f"cut-{keep}.tar"
    cut.write_bytes(backup.read_bytes()[:keep])
    return cut


# Bytes kept, as (offset from the start, or from the end when negative): in the manifest, in the
# dump's header, in the dump, near the dump's end, in the registry files.
CUTS = (700, 1536, 2048, DUMP_BYTES // 2, DUMP_BYTES, -12_000, -11_000, -9_000)


@pytest.mark.parametrize("cut", CUTS)
def test_a_truncated_backup_is_refused_as_damaged(backup: Path, tmp_path: Path, cut: int) -> None:
    size = backup.stat().st_size
    keep = cut if cut > 0 else size + cut
    truncated = _cut(backup, keep, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(BackupError) as refused:
        read_backup(truncated, work)
    message = str(refused.value)
    print(f"kept {keep} of {size} bytes: {message}")
    assert "\n" not in message
    assert str(truncated) in message
    # Cut at a member's boundary, tarfile sees a shorter tar: the member is reported missing.
    assert "is damaged" in message or "is missing; the backup is incomplete" in message
    assert "another copy" in message


def test_restore_refuses_a_truncated_backup_in_one_line(backup: Path, tmp_path: Path) -> None:
    truncated = _cut(backup, backup.stat().st_size // 2, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGISTREAM_")} | {
        "LOGISTREAM_HOME": str(tmp_path / "home"),
        # Never reached: the backup is checked before the database is touched.
        "LOGISTREAM_DATABASE_URL": "postgresql://logistream:x@127.0.0.1:9/logistream",
    }
    done = subprocess.run(
        [LOGISTREAM, "restore", str(truncated)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(done.stderr)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("logistream: ")
    assert "is damaged" in last
    assert [line for line in done.stderr.splitlines() if "damaged" in line] == [last]
