"""pgAdmin's files, pure: where the password file goes, the read-only registration, progress."""

from __future__ import annotations

import json
from pathlib import Path

from logistream.config import Settings
from logistream.serving import pgadmin

OWNER_URL = "postgresql://logistream:own3r@127.0.0.1:15432/logistream?sslmode=prefer"


def test_the_password_file_is_in_the_users_storage_folder_and_named_relative_to_it() -> None:
    # pgAdmin (server mode) joins a server's passfile to <STORAGE_DIR>/<user folder>/ and
    # ignores it when no file is there: an absolute path elsewhere left it asking for a password.
    layout = pgadmin.Layout(venv=Path("/v"), data=Path("/home/x/pgadmin"))
    assert layout.passfile("dba@logistream.co.ke") == Path(
        "/home/x/pgadmin/storage/dba_logistream.co.ke/logistream.pgpass"
    )
    assert pgadmin.storage_folder("7up@x.ke") == "pga_user_7up_x.ke"
    servers = pgadmin.servers_json(OWNER_URL, pgadmin.PASSFILE_NAME)
    server = servers["Servers"]["1"]  # type: ignore[index]
    assert server["ConnectionParameters"]["passfile"] == "logistream.pgpass"
    assert "PassFile" not in server


def test_pgadmin_registers_the_read_only_role_with_its_own_password() -> None:
    url = pgadmin.reader_url(OWNER_URL, "re:ad/er")
    assert (
        url
        == "postgresql://logistream_reader:re%3Aad%2Fer@127.0.0.1:15432/logistream?sslmode=prefer"
    )
    server = pgadmin.servers_json(url, pgadmin.PASSFILE_NAME)["Servers"]["1"]  # type: ignore[index]
    assert (server["Username"], server["MaintenanceDB"], server["Port"]) == (
        "logistream_reader", "logistream", 15432
    )  # fmt: skip
    assert "re:ad" not in json.dumps(server)
    assert "own3r" not in json.dumps(server)
    assert pgadmin.pgpass_line(url) == "127.0.0.1:15432:*:logistream_reader:re\\:ad/er"
    assert pgadmin.reader_url("postgresql://u:p@[::1]/db", "pw") == (
        "postgresql://logistream_reader:pw@[::1]/db"
    )


def test_the_password_file_is_private_and_replaces_the_old_unread_one(tmp_path: Path) -> None:
    layout = pgadmin.Layout(venv=tmp_path / "venv", data=tmp_path / "pgadmin")
    layout.data.mkdir()
    (layout.data / "pgpass").write_text("127.0.0.1:5432:*:logistream:owner-password\n")
    url = pgadmin.reader_url(OWNER_URL, "reader-pw")
    written = pgadmin.write_passfile(layout, url, "dba@logistream.co.ke")
    assert written == layout.passfile("dba@logistream.co.ke")
    assert written.read_text() == "127.0.0.1:15432:*:logistream_reader:reader-pw\n"
    assert written.stat().st_mode & 0o077 == 0
    assert written.parent.stat().st_mode & 0o077 == 0
    assert not (layout.data / "pgpass").exists(), "the owner's password is not left behind"


def test_the_login_says_where_its_password_comes_from(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    who = pgadmin.login(settings, {"LOGISTREAM_PGADMIN_PASSWORD": "secret-pw"})
    assert (who.email, who.password, who.source) == (
        "dba@logistream.co.ke", "secret-pw", "LOGISTREAM_PGADMIN_PASSWORD"
    )  # fmt: skip
    settings.secrets_file.parent.mkdir(parents=True, exist_ok=True)
    settings.secrets_file.write_text(json.dumps({"postgres_password": "pg-pw"}))
    who = pgadmin.login(settings, {})
    assert who.password == "pg-pw"
    assert who.source == f'"postgres_password" in {settings.secrets_file}'
    assert "pg-pw" not in who.source


def test_the_install_shows_pips_steps_with_the_time_spent() -> None:
    show = pgadmin.progress_line
    assert show("Collecting pgadmin4==9.18\n", 3.2) == (
        "  pgAdmin install [0:03] Collecting pgadmin4==9.18"
    )
    assert show("  Downloading pgadmin4-9.18-py3-none-any.whl (126.3 MB)", 75) == (
        "  pgAdmin install [1:15] Downloading pgadmin4-9.18-py3-none-any.whl (126.3 MB)"
    )
    assert show("Installing collected packages: six, flask, pgadmin4", 80) == (
        "  pgAdmin install [1:20] unpacking 3 packages (the longest step, no output for a while)"
    )
    assert show("Successfully installed flask-3.1 pgadmin4-9.18 six-1.17", 200) == (
        "  pgAdmin install [3:20] installed 3 packages"
    )
    assert show("  Using cached six-1.17.0-py2.py3-none-any.whl", 1) is None
    assert show("Requirement already satisfied: six", 1) is None
