"""The shipment scenarios through the whole pipeline: simulate, speed, bridge, batch, report.

The four shipment scenarios run together (their trucks differ): `logistream simulate --scenario
a+b+c+d` stores and publishes their shipments, then fills the topic as fast as it can; a real
`logistream speed` and `logistream bridge` process it. Then each shipment's stage events (in
Redis, as the live views read them) are compared with the scenario's hand-written stages, the
scenario's proofs of delivery are recorded once the truck is at the lot's stop, the alerts are
compared with the hand-written lists, `logistream batch` runs, and `logistream report shipment`
gives each lot's verdict, compared with the hand-written ones. One stack, one run: a few minutes.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis
from tests.helpers import LOGISTREAM, running, wait_until
from tests.integration.batch_support import fetch
from tests.integration.speed_support import TopicReader
from tests.integration.test_reports import run_cli
from tests.integration.test_speed_scenarios import _consumed, _records_in_topic

from logistream import live_views
from logistream.config import Settings
from logistream.ingest.shipment_plans import plan_named, shipment_id
from logistream.live_views.redis_reads import RedisLiveViews
from logistream.registry import load_registry
from logistream.registry.scenarios import Scenario, load_all_scenarios, load_scenario
from logistream.serving.users import add_organisation, add_user
from logistream.shipments.pod import PodRequest, handover_stop
from logistream.shipments.publish import ShipmentPublisher
from logistream.shipments.store import ShipmentStore

REGISTRY = load_registry()
SEED = 42
START = "2026-03-02T06:00:00+03:00"
"""A fixed start in the past: byte-identical readings, and the report judges a finished run."""
RATE_HZ = 0.2
"""One reading every 5 s: far finer than the 120 s stage dwell, and 5 times fewer readings."""
TRUCKS = 9
"""The fleet up to KCJ 675J, the last truck the scenarios name."""
NAMES = sorted(load_all_scenarios(REGISTRY, shipments=True))
ALL = "+".join(NAMES)


def _ids(scenario: Scenario) -> dict[str, str]:
    """Scenario shipment name -> the id the simulator gives it."""
    start = datetime.fromisoformat(START).timestamp()
    return {s.name: shipment_id(plan_named(s.plan), s.truck, start) for s in scenario.shipments}


def _archived(settings: Settings) -> int:
    return int(fetch(settings.database_url or "", "SELECT count(*) FROM readings")[0][0])


def _record_pods(settings: Settings, scenario: Scenario, views: RedisLiveViews) -> None:
    """The scenario's PoDs, signed by a user of the receiver 10 min after the truck arrived."""
    ids = _ids(scenario)
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        publisher = ShipmentPublisher(settings, REGISTRY)
        try:
            for pod in scenario.pods:
                record = store.get(ids[pod.shipment])
                assert record is not None
                shipment = record.shipment
                stop = handover_stop(shipment, pod.lot)
                arrived = next(
                    e.at for e in views.stage_events(shipment.shipment_id) if e.stop == stop
                )
                user = f"receiver-{shipment.receiver.org_id}"
                if not _user_exists(conn, user):
                    add_organisation(conn, shipment.receiver.org_id, "receiver")
                    add_user(
                        conn, user, "viewer", "a long enough password", shipment.receiver.org_id
                    )
                request = PodRequest(
                    stop_id=shipment.stops[stop].stop_id,
                    lot=pod.lot,
                    decision=pod.decision,
                    name="Amina Njeri",
                    at=datetime.fromtimestamp(arrived, UTC) + timedelta(minutes=10),
                    note=pod.note,
                )
                store.record_pod(shipment.shipment_id, request, store.signatory(user))
                publisher.publish(conn, shipment.shipment_id)
        finally:
            publisher.close()


def _user_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone() is not None


def test_shipment_scenarios_through_the_whole_pipeline(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    scenario = load_scenario(ALL, REGISTRY)
    ids = _ids(scenario)
    print(f"scenarios {ALL}: seed={SEED} start={START} rate={RATE_HZ}/s trucks={TRUCKS}")
    sim = subprocess.run(
        [
            LOGISTREAM,
            "simulate",
            "--scenario",
            ALL,
            "--speedup",
            "0",
            "--seed",
            str(SEED),
            "--start",
            START,
            "--rate",
            str(RATE_HZ),
            "--trucks",
            str(TRUCKS),
        ],
        env=settings_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert sim.returncode == 0, sim.stderr
    for name, sid in ids.items():
        assert f"shipment {sid} on " in sim.stderr, name
    total = _records_in_topic(settings)
    views = RedisLiveViews(client)

    with (
        running([LOGISTREAM, "speed"], settings_env, tmp_path / "speed.log", "logistream speed"),
        running([LOGISTREAM, "bridge"], settings_env, tmp_path / "bridge.log", "bridge"),
    ):
        wait_until(lambda: _consumed(client) >= total, timeout=300, what=f"{total} records")

        # Every shipment passed its hand-written stages, in order, and nothing else.
        for name, sid in ids.items():
            seen = [(e.stage, e.stop_id) for e in views.stage_events(sid)]
            assert seen == scenario.stages_of(name), name

        # The proofs of delivery, once the truck is at the lot's stop; a rejection alerts.
        _record_pods(settings, scenario, views)
        expected = {(a.truck, a.rule) for a in scenario.expect}
        wait_until(
            lambda: (
                expected
                <= {(a.truck_id, a.rule) for a in live_views.read_alerts(client, limit=100_000)}
            ),
            timeout=60,
            what=f"the expected alerts {sorted(expected)}",
        )
        wait_until(lambda: _archived(settings) >= total, timeout=300, what="the archive")

    alerts = live_views.read_alerts(client, limit=100_000)
    # As opened (on truck_alerts): naming the shipment, the air in range far less than 30 min.
    reader = TopicReader(settings, settings.topic_alerts)
    opened = wait_until(
        lambda: [
            a for a in reader.alerts()
            if a.rule == "not_precooled" and a.truck_id == "KCF 337F" and a.state == "open"
        ],
        timeout=60,
        what="not_precooled opened on truck_alerts",
    )  # fmt: skip
    reader.close()
    assert "CHD/MILK/SIM/ROUND" in opened[0].message
    assert opened[0].value is not None
    assert opened[0].value < 15, opened[0].message

    # The batch views, then each shipment's report: every lot's verdict as written.
    run_cli(settings_env, "batch")
    for name, sid in ids.items():
        report = json.loads(
            run_cli(settings_env, "report", "shipment", sid, "--format", "json").stdout
        )
        verdicts = {lot["lot"]: lot["verdict"] for lot in report["lots"]}
        for expected_verdict in scenario.verdicts:
            if expected_verdict.shipment == name:
                got = verdicts[expected_verdict.lot]
                assert got == expected_verdict.verdict, (name, expected_verdict.lot, report)

    # No alert beyond the hand-written lists (the normal shipments loaded pre-cooled).
    raised = {(a.truck_id, a.rule) for a in alerts}
    allowed = expected | {(a.truck, a.rule) for a in scenario.allow}
    assert raised - allowed == set(), "alerts the scenarios do not expect"


def test_simulate_creates_its_shipments_once_and_keeps_an_active_one(
    settings: Settings, settings_env: dict[str, str]
) -> None:
    """Without a scenario, `--shipments` gives each plan whose truck runs its shipment; a second
    run finds the truck's active shipment and keeps it: nothing new stored or published."""
    argv = [LOGISTREAM, "simulate", "--shipments", "--speedup", "0", "--duration", "60",
            "--trucks", "3", "--start", START]  # fmt: skip
    start = datetime.fromisoformat(START).timestamp()
    expected_id = shipment_id(plan_named("vaccines_kisumu"), "KCB 781C", start)
    first = subprocess.run(argv, env=settings_env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert f"shipment {expected_id} on KCB 781C: created" in first.stderr
    # A later start: the truck still carries the first run's shipment, which is kept.
    later = [*argv[:-1], "2026-03-02T08:00:00+03:00"]
    second = subprocess.run(later, env=settings_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert f"shipment {expected_id} on KCB 781C: kept (already active)" in second.stderr
    rows = fetch(
        settings.database_url or "",
        "SELECT shipment_id, version, published_version, status FROM shipments",
    )
    assert rows == [(expected_id, 1, 1, "active")]
    reader = TopicReader(settings, settings.topic_shipments)
    wait_until(lambda: reader.poll() or None, timeout=60, what="the shipments topic")
    records = reader.poll(2.0)  # and whatever else a second run might have sent
    reader.close()
    assert [key for key, _ in records] == [expected_id.encode()]
