"""Rejected readings are visible in the product: `logistream rejected` and the dashboard page
show the reason, the sentence that says what to fix, the truck, when, and the original bytes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from streamlit.testing.v1 import AppTest
from tests.helpers import LOGISTREAM

from logistream.config import Settings, get_settings, to_env
from logistream.schema.migrate import migrate
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User

REJECTED = [  # offset, reason, detail, key, raw
    (1, "missing_field", "Required field 'truck_id' is missing: …", None, b'{"temp": 5}'),
    (2, "invalid_json", "The message is not valid JSON: …", b"KBX 123A", b'{"truck_id": x'),
    (3, "invalid_json", "The message is not valid JSON: …", b"KCB 781C", b"\xff\xfe binary"),
]


@pytest.fixture
def archive(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for offset, reason, detail, key, raw in REJECTED:
            conn.execute(
                "INSERT INTO rejected_readings (source_topic, source_partition, source_offset, "
                "reason, detail, message_key, raw, rejected_at) VALUES ('truck_telemetry', 0, %s, "
                "%s, %s, %s, %s, now() - make_interval(mins => %s))",
                [offset, reason, detail, key, raw, 10 - offset],
            )
    for name, value in to_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_the_cli_lists_them_newest_first_with_why(
    archive: Settings, settings_env: dict[str, str]
) -> None:
    listed = subprocess.run(
        [LOGISTREAM, "rejected"], env=settings_env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    firsts = [line for line in listed.stdout.splitlines() if not line.startswith(" ")]
    assert [line.split()[3] for line in firsts[:3]] == ["invalid_json"] * 2 + ["missing_field"]
    assert "truck KCB 781C" in firsts[0]
    assert "sent: \\xff\\xfe binary" in listed.stdout
    assert "3 rejected in all: invalid_json 2, missing_field 1" in listed.stdout
    only = subprocess.run(
        [LOGISTREAM, "rejected", "--reason", "missing_field", "--json"],
        env=settings_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rows = [json.loads(line) for line in only.stdout.splitlines()]
    assert [(r["reason"], r["truck"], r["original"]) for r in rows] == [
        ("missing_field", "—", '{"temp": 5}')
    ]


def test_the_dashboard_page_shows_them(archive: Settings) -> None:
    script = "from logistream.serving.screens import rejected\nrejected.render()\n"
    page = AppTest.from_string(script, default_timeout=30)
    page.session_state[USER_KEY] = User("vic", "viewer")
    page.run()
    assert not page.exception
    assert {m.label: m.value for m in page.metric} == {"invalid_json": "2", "missing_field": "1"}
    frame = page.dataframe[0].value
    assert list(frame["reason"]) == ["invalid_json", "invalid_json", "missing_field"]
    assert list(frame["truck"]) == ["KCB 781C", "KBX 123A", "—"]
    assert list(frame["message as sent"])[1] == '{"truck_id": x'
