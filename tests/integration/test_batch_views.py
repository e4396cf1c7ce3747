"""Batch views on a real PostgreSQL: the set-based SQL agrees with the pure maths, runs are
idempotent, a time range recomputes the same, reconciliation finds missed/late/unmatched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from tests.helpers import seeded_random
from tests.integration.batch_support import (
    Row,
    apply_schema,
    fetch,
    insert_readings,
    made_up_trip,
)

from logistream.batch.views.drivers import DriveSample, trip_driving
from logistream.batch.views.fuel import FuelSample, trip_fuel
from logistream.batch.views.recompute import VIEW_TABLES, Scope, recompute
from logistream.coldchain.compliance import trip_compliance
from logistream.coldchain.excursions import Sample
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.config import Settings
from logistream.registry import cached_registry

REGISTRY = cached_registry()


def run_batch(url: str, scope: Scope | None = None) -> None:
    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY, scope)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in (*VIEW_TABLES, "reconciliation"):
        out[table] = fetch(url, f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5")
    return out


def ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def test_sql_views_agree_with_the_pure_maths(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-views")
    rows = made_up_trip(rng, step_s=2.0)  # 1-3 s apart: accelerations are measurable
    rng.shuffle(rows)  # arrival order must not matter
    insert_readings(url, rows)
    run_batch(url)

    profile = REGISTRY.cargo["vaccines"]
    pure = trip_compliance(
        [Sample(r.t, r.temp, bool(r.defrost), "", r.lat, r.lon) for r in rows],
        profile,
        DEFAULT_PARAMS.hold_max_s,
    )
    # Event ids order ties; the made-up trip has none, so "" for all is the same order.
    ((verdict, mkt, tor, above, mean, covered, gap, n_exc, hard, tor_at),) = fetch(
        url,
        "SELECT verdict, mkt_c, tor_s, above_s, mean_c, covered_s, gap_s, excursions, "
        "hard_limit_passed, tor_alarm_at FROM trip_compliance",
    )
    print(json.dumps({"verdict": verdict, "mkt": mkt, "tor_min": tor / 60}))
    assert verdict == pure.verdict == "review"
    assert mkt == pytest.approx(pure.mkt_c, abs=1e-6)
    assert tor == pytest.approx(pure.tor_s, abs=1e-3)
    assert above == pytest.approx(pure.above_s, abs=1e-3)
    assert mean == pytest.approx(pure.mean_c, abs=1e-6)
    assert covered == pytest.approx(pure.covered_s, abs=1e-3)
    assert gap == pytest.approx(pure.gap_s, abs=1e-3)
    assert hard is pure.hard_limit_passed
    assert ts(tor_at) == pure.tor_alarm_at
    sql_exc = fetch(
        url,
        "SELECT kind, start_time, end_time, ongoing, out_s, peak_c, peak_at, alarm_at "
        "FROM excursions ORDER BY start_time, kind",
    )
    assert n_exc == len([e for e in pure.excursions if e.kind != "critical"])
    assert len(sql_exc) == len(pure.excursions) >= 1
    for got, want in zip(sql_exc, pure.excursions, strict=True):
        assert got[0] == want.kind
        assert ts(got[1]) == pytest.approx(want.start, abs=1e-5)
        assert ts(got[2]) == pytest.approx(want.end, abs=1e-5)
        assert got[3] is want.ongoing
        assert got[4] == pytest.approx(want.out_s, abs=1e-3)
        assert got[5] == want.peak_c
        assert ts(got[6]) == pytest.approx(want.peak_at, abs=1e-5)
        assert ts(got[7]) == pytest.approx(want.alarm_at, abs=1e-5)

    fuel = trip_fuel(
        [FuelSample(r.t, r.fuel, r.speed_kmh, r.lat, r.lon, r.reefer_on) for r in rows],
        400.0,
        DEFAULT_PARAMS,
    )
    ((dist, consumed, per100, refuels, refuelled, thefts, stolen, reefer_lph),) = fetch(
        url,
        "SELECT distance_km, consumed_l, l_per_100km, refuels, refuelled_l, thefts, stolen_l, "
        "reefer_l_per_h FROM fuel_efficiency",
    )
    print(json.dumps({"km": dist, "l_per_100km": per100, "stolen": stolen, "reefer": reefer_lph}))
    assert dist == pytest.approx(fuel.distance_km, rel=1e-9)
    assert consumed == pytest.approx(fuel.consumed_l, abs=1e-6)
    assert per100 == pytest.approx(fuel.l_per_100km, abs=1e-6)
    assert (refuels, thefts) == (fuel.refuels, fuel.thefts) == (1, 1)
    assert refuelled == pytest.approx(fuel.refuelled_l, abs=1e-6)
    assert stolen == pytest.approx(fuel.stolen_l, abs=1e-6)
    assert stolen == pytest.approx(80.0, abs=5.0)
    assert reefer_lph == pytest.approx(fuel.reefer_l_per_h, abs=1e-6)

    drive = trip_driving(
        [DriveSample(r.t, r.speed_kmh, r.lat, r.lon) for r in rows], DEFAULT_PARAMS
    )
    ((brakes, accels, speeding, idling, driving, score),) = fetch(
        url,
        "SELECT harsh_brakes, harsh_accels, speeding_s, idling_s, driving_s, score "
        "FROM driver_behaviour",
    )
    assert (brakes, accels) == (drive.harsh_brakes, drive.harsh_accels)
    assert brakes == 2
    assert speeding == pytest.approx(drive.speeding_s, abs=1e-3)
    assert speeding > 0
    assert idling == pytest.approx(drive.idling_s, abs=1e-3)
    assert driving == pytest.approx(drive.driving_s, abs=1e-3)
    assert score == pytest.approx(drive.score, abs=1e-6)

    ((trip_id, readings, _distance, start_time),) = fetch(
        url, "SELECT trip_id, readings, distance_km, start_time FROM trips"
    )
    assert (trip_id, readings) == ("KBX123A-1", len(rows))
    assert start_time == datetime.fromtimestamp(min(r.t for r in rows), UTC)


def test_batch_twice_and_by_range_gives_identical_views(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-idempotent")
    start = datetime(2025, 3, 3, 20, 0, tzinfo=UTC).timestamp()  # crosses midnight UTC
    rows = made_up_trip(rng, start=start, step_s=20.0)
    rows += made_up_trip(
        rng,
        truck_id="KCA 452B",
        trip_id="KCA452B-1",
        cargo="frozen",
        start=start + 3600,
        step_s=20.0,
        excursion=(1.0, 2.0, -10.0),
    )
    # The original producer: no trip, no cargo, over two UTC days.
    rows += [
        Row(t=start + i * 600, truck_id="OLD-1", temp=4.0 + (i % 5), fuel=50.0) for i in range(30)
    ]
    insert_readings(url, rows)
    run_batch(url)
    first = snapshot(url)
    run_batch(url)
    assert snapshot(url) == first
    # A range that touches only the second day recomputes the trips it touches, whole.
    run_batch(
        url, Scope(start=datetime(2025, 3, 4, tzinfo=UTC), end=datetime(2025, 3, 5, tzinfo=UTC))
    )
    assert snapshot(url) == first
    trips = fetch(url, "SELECT truck_id, trip_id, trip_id_sent, cargo FROM trips ORDER BY 1, 2")
    assert trips == [
        ("KBX 123A", "KBX123A-1", True, "vaccines"),
        ("KCA 452B", "KCA452B-1", True, "frozen"),
        ("OLD-1", "OLD-1@2025-03-03", False, "default"),
        ("OLD-1", "OLD-1@2025-03-04", False, "default"),
    ]
    frozen = fetch(url, "SELECT mkt_c, verdict FROM trip_compliance WHERE cargo = 'frozen'")
    assert frozen == [(None, "fail")]  # -10 °C passes the -12 °C hard limit; no MKT
    # The original LogiStream fuel audit still runs, and the reader role sees the views.
    audit = fetch(url, "SELECT truck_id, AVG(fuel) FROM truck_history GROUP BY truck_id")
    assert len(audit) == 3
    reader = psycopg.conninfo.make_conninfo(
        url, user="logistream_reader", password=settings.reader_db_password
    )
    for table in (*VIEW_TABLES, "reconciliation", "driver_scorecard", "fuel_by_truck"):
        fetch(reader, f"SELECT count(*) FROM {table}")


def test_reconciliation_shows_missed_late_and_unmatched(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-reconcile")
    rows = made_up_trip(
        rng, step_s=30.0, theft=None, refuel=None, defrost=None, excursion=(1.0, 2.5, 13.0)
    )
    insert_readings(url, rows)
    run_batch(url)
    due = dict(fetch(url, "SELECT kind, alarm_at FROM excursions"))
    assert set(due) == {"high", "critical"}

    def alert(alert_id: str, rule: str, opened: datetime, state: str = "open") -> tuple[Any, ...]:
        return (
            alert_id,
            state,
            opened,
            "KBX 123A",
            "KBX123A-1",
            rule,
            "major",
            opened,
            "msg",
            json.dumps({}),
            0,
            0,
        )

    late = due["high"].timestamp() + 300
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule, "
            "severity, opened_at, message, payload, source_partition, source_offset) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                alert("a-high", "temp_high", datetime.fromtimestamp(late, UTC)),
                alert("a-ghost", "temp_low", datetime(2025, 3, 3, 6, 0, tzinfo=UTC)),
            ],
        )
    run_batch(url)
    got = fetch(url, "SELECT rule, status, alert_id, late_s FROM reconciliation ORDER BY rule")
    assert got == [
        ("temp_critical", "missed", None, None),
        ("temp_high", "late", "a-high", pytest.approx(300.0, abs=1e-3)),
        ("temp_low", "unmatched_alert", "a-ghost", None),
        ("tor_budget", "missed", None, None),  # over an hour above 8 °C: budget spent
    ]


def test_a_glitched_probe_is_left_out_alike_by_the_sql_and_the_pure_maths(
    settings: Settings,
) -> None:
    """One reading of 25 °C and one of -40 °C among 5 °C ones, a glitch inside a real
    excursion, a fast door-open jump (plausible only with the door open), one plausible
    reading beyond the hard limit (unconfirmed) and a confirmed critical: excursions, sensor
    faults, MKT and the mean are the same in SQL as in the pure maths."""
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-glitch")
    start = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp()
    temps = [5.0 + rng.gauss(0.0, 0.2) for _ in range(400)]
    temps[40] = 25.0
    temps[150] = -40.0
    temps[200:230] = [9.5] * 30  # 15 min above 8 °C (alarm after 10 min) ...
    temps[210] = 45.0  # ... with a glitch inside
    temps[260:266] = [8.0, 11.5, 12.5, 11.5, 9.0, 7.0]  # one plausible reading beyond 12 °C
    temps[300:307] = [9.0, 11.5, 12.4, 12.8, 12.2, 9.0, 7.0]  # a confirmed critical
    doors = [False] * 400
    doors[350:352] = [True, True]
    # +6.5 °C in 30 s: plausible with the door open only; then cooled back gradually.
    temps[350:355] = [11.5, 11.8, 10.0, 8.0, 6.5]
    rows = [
        Row(start + i * 30.0, "KBX 123A", round(t, 2), trip_id="KBX123A-G", cargo="vaccines",
            door_open=doors[i])
        for i, t in enumerate(temps)
    ]  # fmt: skip
    rng.shuffle(rows)
    insert_readings(url, rows)
    run_batch(url)

    from logistream.coldchain.excursions import classify, sensor_faults

    profile = REGISTRY.cargo["vaccines"]
    samples = [Sample(r.t, r.temp, False, "", None, None, bool(r.door_open)) for r in rows]
    pure = trip_compliance(samples, profile, DEFAULT_PARAMS.hold_max_s)
    faults = sensor_faults(classify(samples, profile, DEFAULT_PARAMS.hold_max_s))
    assert [(f.start, f.readings) for f in faults] == [
        (start + 40 * 30, 1),
        (start + 150 * 30, 1),
        (start + 210 * 30, 1),
    ]
    sql_faults = fetch(
        url,
        "SELECT start_time, end_time, ongoing, readings, min_c, max_c, last_good_c "
        "FROM sensor_faults ORDER BY start_time",
    )
    assert len(sql_faults) == len(faults)
    for got, want in zip(sql_faults, faults, strict=True):
        assert (ts(got[0]), ts(got[1])) == (pytest.approx(want.start), pytest.approx(want.end))
        assert got[2:6] == (want.ongoing, want.readings, want.min_c, want.max_c)
        assert got[6] == pytest.approx(want.last_good_c)

    ((mkt, mean, lo, hi, hard),) = fetch(
        url, "SELECT mkt_c, mean_c, min_c, max_c, hard_limit_passed FROM trip_compliance"
    )
    assert mkt == pytest.approx(pure.mkt_c, abs=1e-6)
    assert mean == pytest.approx(pure.mean_c, abs=1e-6)
    assert (lo, hi, hard) == (pure.min_c, pure.max_c, pure.hard_limit_passed)
    assert pure.max_c == 12.8  # the glitches are not the trip's extremes
    sql_exc = fetch(
        url, "SELECT kind, start_time, peak_c, alarm_at FROM excursions ORDER BY start_time, kind"
    )
    want_exc = [(e.kind, e.start, e.peak_c, e.alarm_at) for e in pure.excursions]
    got_exc = [(k, ts(s), p, ts(a)) for k, s, p, a in sql_exc]
    assert got_exc == want_exc
    criticals = [e for e in pure.excursions if e.kind == "critical"]
    assert [c.alarm_at for c in criticals] == [None, start + 303 * 30]
