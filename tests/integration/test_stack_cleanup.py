"""A throw-away stack leaves nothing when it stops; a user's home keeps its data until --purge.

Root-run stacks keep PostgreSQL's data under /var/tmp/logistream-postgres (the ``postgres``
user cannot enter a private home): those folders are checked too, as are the orphans a killed
run leaves there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest
from tests.integration.test_stack import _pids, _run

from logistream.config import child_env, resolve_endpoints
from logistream.stack.manager import Stack
from logistream.stack.postgres_server import HOME_MARKER, ROOT_DATA_PARENT, remove_orphans
from logistream.stack.process import pid_alive, running_as_root
from logistream.stack.temporary import isolated_settings, temporary_stack_control


class _BodyFailed(Exception):
    pass


def _present(paths: list[Path]) -> list[Path]:
    return [path for path in paths if os.path.lexists(path)]


def test_a_temporary_stack_removes_all_its_data_even_when_the_body_raised(
    tmp_path: Path,
) -> None:
    home = tmp_path / "throwaway"
    pids: list[int] = []
    folders: list[Path] = []

    def failing_body() -> None:
        with temporary_stack_control(home, partitions=1) as running:
            stack = running.stack
            pids.extend(entry.pid for entry in stack.status() if entry.pid)
            assert len(pids) == 4, stack.status()
            with psycopg.connect(running.endpoints.database_url, autocommit=True) as conn:
                conn.execute("CREATE TABLE doomed (note text)")
                conn.execute("INSERT INTO doomed VALUES ('gone with the stack')")
            postgres = stack.postgres
            folders.extend([postgres.root, postgres.link, stack.kafka.root, stack.redis.root])
            folders.append(stack.mosquitto.root)
            assert _present(folders) == folders
            if running_as_root():
                assert postgres.root.parent == ROOT_DATA_PARENT
                marker = (postgres.root / HOME_MARKER).read_text().strip()
                assert marker == str(home.resolve())
            raise _BodyFailed("the test body failed")

    with pytest.raises(_BodyFailed):
        failing_body()

    assert not [pid for pid in pids if pid_alive(pid)], "every server must be stopped"
    assert _present(folders) == []
    assert not home.exists(), "the home the temporary stack created must be gone"


def test_a_persistent_home_keeps_its_data_on_down_and_down_purge_removes_it(
    tmp_path: Path,
) -> None:
    settings = isolated_settings(tmp_path / "home", kafka_heap="512m")
    env = child_env(settings)
    stack = Stack(settings)
    data = [
        stack.postgres.data_dir / "PG_VERSION",
        stack.kafka.root / "data" / "meta.properties",
        stack.redis.root / "redis.conf",
        settings.home / "stack.json",
    ]
    try:
        up = _run(env, "up")
        assert up.returncode == 0, up.stderr
        database_url = resolve_endpoints(settings).database_url
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('survives down')")

        down = _run(env, "down")
        assert down.returncode == 0, down.stderr
        assert not [pid for pid in _pids(up.stdout) if pid_alive(pid)]
        assert _present(data) == data, "a plain `down` must keep the data"

        again = _run(env, "up")
        assert again.returncode == 0, again.stderr
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("survives down",)]

        # Purging a running stack stops it first.
        purged = _run(env, "down", "--purge")
        assert purged.returncode == 0, purged.stderr
        assert not [pid for pid in _pids(again.stdout) if pid_alive(pid)]
        assert _present(data) == []
        said = {
            line.removeprefix("removed ")
            for line in purged.stderr.splitlines()
            if line.startswith("removed ")
        }
        expected = {stack.postgres.root, stack.kafka.root, stack.redis.root, stack.mosquitto.root}
        expected |= {settings.home / "stack.json"}
        if running_as_root():
            expected.add(stack.postgres.link)
        assert said == {str(path) for path in expected}, purged.stderr
        assert _present([stack.postgres.root, stack.postgres.link]) == []
        assert settings.secrets_file.exists(), "the passwords stay"

        nothing = _run(env, "down", "--purge")
        assert nothing.returncode == 0, nothing.stderr
        assert "nothing to remove" in nothing.stderr
    finally:
        _run(env, "down", "--purge")


def test_purge_removes_the_servers_folders_and_keeps_passwords_and_spool(tmp_path: Path) -> None:
    """No servers: a home laid out as after `stack down`, purged by the manager."""
    settings = isolated_settings(tmp_path / "home")
    stack = Stack(settings)
    stack.prepare()  # stack.json and secrets.json
    for folder in (stack.kafka.root / "data", stack.redis.root, stack.postgres.data_dir):
        folder.mkdir(parents=True)
    if running_as_root():
        stack.postgres.link.symlink_to(stack.postgres.root)
    spool = settings.home / "spool" / "truck_telemetry"
    spool.mkdir(parents=True)
    (spool / "0001.jsonl").write_text(json.dumps({"truck_id": "KCA 001A"}) + "\n")

    removed = stack.purge()

    assert {stack.postgres.root, stack.kafka.root, stack.redis.root} <= set(removed)
    assert _present([stack.postgres.root, stack.postgres.link, stack.kafka.root]) == []
    assert _present([stack.redis.root, settings.home / "stack.json"]) == []
    assert settings.secrets_file.exists()
    assert (spool / "0001.jsonl").exists()
    assert stack.purge() == [], "a second purge finds nothing"


def test_orphaned_root_data_folders_are_removed_and_the_others_kept(tmp_path: Path) -> None:
    """A killed run's folder (its home gone) goes; a live home's, an unmarked one, a running
    server's stay."""
    parent = tmp_path / "logistream-postgres"
    live_home = tmp_path / "live-home"
    live_home.mkdir()
    gone_home = tmp_path / "deleted-home"

    def folder(name: str, home: Path | None, server_pid: int | None = None) -> Path:
        path = parent / name
        (path / "data").mkdir(parents=True)
        if home is not None:
            (path / HOME_MARKER).write_text(f"{home}\n")
        if server_pid is not None:
            (path / "data" / "postmaster.pid").write_text(f"{server_pid}\n{path / 'data'}\n")
        return path

    orphan = folder("orphan", gone_home)
    dead_server = folder("dead-server", gone_home, server_pid=_a_dead_pid())
    kept = [
        folder("live", live_home),
        folder("unmarked", None),
        folder("running", gone_home, server_pid=os.getpid()),
    ]

    assert remove_orphans(parent) == sorted([orphan, dead_server])
    assert _present([orphan, dead_server]) == []
    assert _present(kept) == kept
    assert remove_orphans(tmp_path / "no-such-parent") == []


def _a_dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
