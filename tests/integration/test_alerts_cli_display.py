"""`logistream alerts` as a dispatcher reads it, over a real Redis: the open and acknowledged
alerts by default (--all adds the resolved), oldest first, under a header, with the truck and the
opening time in LOGISTREAM_TIMEZONE; `alerts ack` takes a unique start of an id and refuses an
unknown or ambiguous one in one line."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import redis
from tests.helpers import LOGISTREAM, wait_until
from tests.integration.speed_support import TopicReader

from logistream.config import Settings
from logistream.events import Alert, decode_command
from logistream.live_views import RedisLiveViewsWriter
from logistream.schema.migrate import migrate

T0 = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp()  # 08:00 in Nairobi, 10:30 in Kolkata
OLD = "3f2a9c1d-0000-5000-8000-000000000001"  # resolved
ACKED = "3f2a9c1d-ffff-5000-8000-000000000002"
OPEN = "7b00e1aa-1111-5000-8000-000000000003"


def _alert(alert_id: str, truck: str, opened: float, state: str) -> Alert:
    return Alert(
        alert_id=alert_id,
        truck_id=truck,
        rule="temp_high",
        severity="major",
        state=state,  # type: ignore[arg-type]
        opened_at=opened,
        changed_at=opened + 60,
        message=f"{truck}: cargo at 9.1 °C, above 8 °C",
        acknowledged_by="Wanjiru" if state == "acknowledged" else None,
    )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOGISTREAM, *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_listing_is_for_people_and_ack_takes_a_prefix(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis
) -> None:
    # Written newest-first, so the listing's time order is its own doing.
    RedisLiveViewsWriter(client).write_batch(
        [],
        {},
        [
            _alert(OPEN, "KCB 781C", T0 + 3600, "open"),
            _alert(ACKED, "KBX 123A", T0 + 60, "acknowledged"),
            _alert(OLD, "KDA 555Z", T0, "resolved"),
        ],
    )
    env = settings_env | {"LOGISTREAM_TIMEZONE": "Africa/Nairobi"}

    listed = _cli(env, "alerts")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    print(listed.stdout)
    assert lines[0].split() == ["OPENED", "TRUCK", "SEVERITY", "RULE", "STATE", "ID", "MESSAGE"]
    assert len(lines) == 3  # the resolved alert is not listed
    assert lines[1].startswith("2025-03-03 08:01 EAT  KBX 123A  major     temp_high  acknowledged")
    assert lines[2].startswith("2025-03-03 09:00 EAT  KCB 781C  major     temp_high  open")
    assert " 3f2a9c1d-f " in lines[1]  # as long as it takes to tell it from the resolved one
    assert " 7b00e1aa-1 " in lines[2]

    everything = _cli(env, "alerts", "--all").stdout.splitlines()
    assert [line.split()[3] for line in everything[1:]] == ["KDA", "KBX", "KCB"]
    assert everything[1].startswith("2025-03-03 08:00 EAT  KDA 555Z")

    kolkata = _cli(settings_env | {"LOGISTREAM_TIMEZONE": "Asia/Kolkata"}, "alerts").stdout
    assert kolkata.splitlines()[1].startswith("2025-03-03 10:31 IST")

    as_json = [json.loads(x) for x in _cli(env, "alerts", "--json").stdout.splitlines()]
    assert [(x["alert_id"], x["opened_at"]) for x in as_json] == [
        (ACKED, T0 + 60),
        (OPEN, T0 + 3600),
    ]
    active = _cli(env, "alerts", "--active", "--json").stdout.splitlines()
    assert [json.loads(x)["alert_id"] for x in active] == [ACKED, OPEN]

    ambiguous = _cli(env, "alerts", "ack", "3f2a", "--by", "Otieno", "--wait", "0")
    assert ambiguous.returncode == 2
    assert ambiguous.stderr.splitlines() == [
        "logistream: '3f2a' is the start of 2 alert ids (3f2a9c1d-0, 3f2a9c1d-f); "
        "give more of the id"
    ]
    unknown = _cli(env, "alerts", "ack", "9999", "--by", "Otieno", "--wait", "0")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines() == [
        "logistream: no alert '9999' in the live views; see `logistream alerts --all`"
    ]

    assert settings.database_url
    migrate(settings, settings.database_url)  # an acknowledgement is on the audit trail
    commands = TopicReader(settings, settings.topic_commands)
    try:
        acked = _cli(
            env, "alerts", "ack", "7b00", "--by", "Otieno", "--note", "on it", "--wait", "0"
        )
        assert acked.returncode == 0, acked.stderr
        assert f"acknowledgement of {OPEN} published" in acked.stdout
        sent = wait_until(
            lambda: [decode_command(v) for _, v in commands.poll(1.0)], what="the ack command"
        )
        assert [(c.alert_id, c.truck_id, c.by) for c in sent] == [(OPEN, "KCB 781C", "Otieno")]
    finally:
        commands.close()
