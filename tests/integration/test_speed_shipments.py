"""A shipment through the real speed layer: created with `logistream shipments`, tracked from
the `shipments` topic, its stages seen from the truck's GPS readings (Redis and the
`shipment_events` topic), the pre-cooling alert, a dispatcher's override, a restart that keeps
the stage, a lot rejected at its drop (the shipper's alert), and a cancellation that takes it off
the live views."""

from __future__ import annotations

import subprocess
import time
from importlib import resources
from pathlib import Path

import redis
from tests.helpers import wait_until
from tests.integration.speed_support import (
    LOGISTREAM,
    TopicReader,
    produce,
    reading,
    speed_process,
)

from logistream import live_views
from logistream.config import Settings
from logistream.events import decode_stage_event

TRUCK = "KCB 781C"
SHIPMENT = "SHP-2026-0118"
NAIROBI = {"lat": -1.2864, "lon": 36.8172}
"""The centre of the origin's fence (the Nairobi central vaccine store)."""


def _cli(env: dict[str, str], *args: str, command: str = "shipments", stdin: str = "") -> str:
    done = subprocess.run(
        [LOGISTREAM, command, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _both_probes(ts: float, temp: float, **extra: object) -> list[tuple[str | None, bytes]]:
    return [
        (TRUCK, reading(TRUCK, ts, temp, probe_id=probe, cargo="vaccines", **NAIROBI, **extra))
        for probe in ("front", "rear")
    ]


def test_a_shipment_is_tracked_from_its_topic_to_its_cancellation(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    example = resources.files("logistream.shipments") / "examples" / "vaccines_kisumu.toml"
    with resources.as_file(example) as path:
        _cli(settings_env, "create", str(path))
    views = live_views.RedisLiveViews(client)
    events = TopicReader(settings, settings.topic_shipment_events)
    log = tmp_path / "speed.log"
    start = time.time() - 900
    with speed_process(settings_env, log=log):
        # 10 min at the store with the reefer warm, then the door opens: loading, not pre-cooled.
        records = []
        for i in range(10):
            records += _both_probes(start + 60 * i, 9.0)
        records += _both_probes(start + 600, 6.0, door_open=True)
        produce(settings, records)
        live = wait_until(
            lambda: (s := views.shipment(SHIPMENT)) is not None and s.stage == "at_origin" and s,
            timeout=60,
            what="the shipment at its origin in Redis",
        )
        assert (live.stop, live.since, live.truck_id) == (0, start, TRUCK)
        assert [e.stop for e in live.etas] == [1, 2, 3]
        alert = wait_until(
            lambda: next((a for a in views.open_alerts() if a.rule == "not_precooled"), None),
            timeout=30,
            what="not_precooled in Redis",
        )
        assert "KEMSA/EPI/2026/118" in alert.message
        stage_events = views.stage_events(SHIPMENT)
        assert [(e.stage, e.stop, e.at, e.cause) for e in stage_events] == [
            ("at_origin", 0, start, "geofence")
        ]
        on_topic = wait_until(
            lambda: [decode_stage_event(v) for _, v in events.poll()],
            timeout=30,
            what="the stage event on shipment_events",
        )
        assert [(e.shipment_id, e.stage, e.event_id) for e in on_topic] == [
            (SHIPMENT, "at_origin", stage_events[0].event_id)
        ]

        # A dispatcher says the truck is already in transit.
        _cli(
            settings_env,
            "override",
            SHIPMENT,
            "--stage",
            "in_transit",
            "--stop",
            "0",
            "--reason",
            "left",
        )
        wait_until(
            lambda: [e.cause for e in views.stage_events(SHIPMENT)] == ["geofence", "override"],
            timeout=60,
            what="the override's stage event",
        )
        overridden = views.stage_events(SHIPMENT)[-1]
        assert (overridden.stage, overridden.stop, overridden.reason) == ("in_transit", 0, "left")
        assert overridden.by is not None
        assert overridden.by.startswith("cli:")

    # Restarted, the speed layer keeps the stage (checkpointed), and a reading back inside the
    # origin's fence starts a new dwell rather than repeating the first arrival.
    with speed_process(settings_env, log=log):
        produce(settings, _both_probes(start + 660, 5.0))
        wait_until(
            lambda: (s := views.shipment(SHIPMENT)) is not None and s.updated_at == start + 660,
            timeout=60,
            what="the shipment's state after the restart",
        )
        assert views.shipment(SHIPMENT).stage == "in_transit"  # type: ignore[union-attr]
        assert [e.cause for e in views.stage_events(SHIPMENT)] == ["geofence", "override"]

        # The Kisumu depot rejects a lot: the shipper's alert.
        _cli(settings_env, "add", "moh-western", "--kind", "receiver", command="orgs")
        _cli(
            settings_env,
            *("add", "wanjiku", "--organisation", "moh-western", "--password-stdin"),
            command="users",
            stdin="a long enough password\n",
        )
        _cli(
            settings_env,
            *("pod", SHIPMENT, "--stop", "kisumu-depot", "--lot", "DIL-0907", "--reject"),
            *("--name", "Wanjiku M", "--note", "cartons crushed", "--as", "wanjiku"),
        )
        rejected = wait_until(
            lambda: next((a for a in views.open_alerts() if a.rule == "lot_rejected"), None),
            timeout=60,
            what="lot_rejected in Redis",
        )
        assert "DIL-0907" in rejected.message
        assert "cartons crushed" in rejected.message

        _cli(settings_env, "cancel", SHIPMENT, "--reason", "test over")
        wait_until(
            lambda: views.shipment(SHIPMENT) is None,
            timeout=60,
            what="the cancelled shipment gone from the live views",
        )
        # Its alerts resolve with the truck's next reading.
        produce(settings, _both_probes(start + 720, 5.0))
        wait_until(
            lambda: not any(a.rule == "not_precooled" for a in views.open_alerts()),
            timeout=60,
            what="not_precooled resolved",
        )
    events.close()
