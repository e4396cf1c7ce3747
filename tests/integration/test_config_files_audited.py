"""The rules file and cargo profiles a service starts with are in the audit trail when they
changed: ``logistream batch`` records both files the first time, nothing while they stay the
same, and one row naming the old and the new digest once the rules file changes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from tests.helpers import LOGISTREAM
from tests.integration.batch_support import apply_schema

from logistream.config import Settings


def _batch(env: dict[str, str]) -> None:
    done = subprocess.run(
        [LOGISTREAM, "batch"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr


def _rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT actor, source, subject_kind, subject_id, before, after FROM audit_log "
            "WHERE action = 'rules_file_changed' ORDER BY seq"
        ).fetchall()


def test_batch_records_its_configuration_files_once_per_change(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    assert settings.database_url
    apply_schema(settings)
    rules = tmp_path / "rules.toml"
    shipped = resources.files("logistream.registry").joinpath("data", "rules.toml")
    with resources.as_file(shipped) as path:
        shutil.copy(path, rules)
    env = {**settings_env, "LOGISTREAM_RULES_FILE": str(rules)}

    _batch(env)
    first = _rows(settings.database_url)
    # In the order of where they were read: the rules file's path, then "shipped:cargo.toml".
    assert [r[:5] for r in first] == [
        ("batch", "service", "rules_file", "rules.toml", None),
        ("batch", "service", "cargo_profiles", "cargo.toml", None),
    ]
    old = hashlib.sha256(rules.read_bytes()).hexdigest()
    assert {r[5]["sha256"] for r in first if r[3] == "rules.toml"} == {old}

    _batch(env)  # the same files: nothing new
    assert _rows(settings.database_url) == first

    rules.write_text(rules.read_text("utf-8") + "\n# a comment changes the digest\n", "utf-8")
    _batch(env)
    rows = _rows(settings.database_url)
    assert len(rows) == len(first) + 1
    actor, source, kind, name, before, after = rows[-1]
    assert (actor, source, kind, name) == ("batch", "service", "rules_file", "rules.toml")
    assert before["sha256"] == old
    assert after == {"sha256": hashlib.sha256(rules.read_bytes()).hexdigest(), "path": str(rules)}
