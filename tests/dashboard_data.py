"""Known data for the dashboard tests, placed through the real writers: the speed layer's
``ViewWriter`` for Redis, SQL as the archive's owner for PostgreSQL, ``users`` for accounts."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import redis

from logistream.config import Settings
from logistream.events import Alert, Reading
from logistream.live_views import HeartbeatRecord
from logistream.serving import users
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

PASSWORDS = {"ann": "ann-password-1", "dan": "dan-password-1", "vic": "vic-password-1"}
ROLES = {"ann": "admin", "dan": "dispatcher", "vic": "viewer"}
HOT_TRUCK = "KCK 293K"
COOL_TRUCK = "KBX 123A"
TRIP = "TRIP-KCK-1"


def hot_alert(now: float) -> Alert:
    return Alert(
        alert_id="a-hot-1",
        truck_id=HOT_TRUCK,
        trip_id=TRIP,
        rule="temp_high",
        severity="major",
        state="open",
        opened_at=now - 600,
        changed_at=now - 600,
        message="Cargo at 11.2 °C, above the 8 °C limit for 10 min",
        cargo="vaccines",
        value=11.2,
        threshold=8.0,
        lat=-3.40,
        lon=38.56,
    )


def warning_alert(now: float) -> Alert:
    return Alert(
        alert_id="a-warn-1",
        truck_id=COOL_TRUCK,
        rule="speeding",
        severity="warning",
        state="open",
        opened_at=now - 60,
        changed_at=now - 60,
        message="92 km/h in a 80 km/h zone",
        value=92.0,
        threshold=80.0,
        lat=-1.29,
        lon=36.82,
    )


def place_live_views(settings: Settings, now: float | None = None) -> redis.Redis:
    """Two trucks, one hot with a major alert, a temperature history and a fresh heartbeat."""
    now = time.time() if now is None else now
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    writer = ViewWriter(client)
    hot = hot_alert(now)
    warn = warning_alert(now)
    states = [
        TruckState(
            truck_id=HOT_TRUCK,
            last=Reading(
                truck_id=HOT_TRUCK, temp=11.2, timestamp=now - 5, fuel=62.0, cargo="vaccines",
                lat=-3.40, lon=38.56, speed_kmh=71.0, trip_id=TRIP, driver_id="DRV-009",
            ),
            alerts={hot.rule: hot},
        ),
        TruckState(
            truck_id=COOL_TRUCK,
            last=Reading(
                truck_id=COOL_TRUCK, temp=4.9, timestamp=now - 3, fuel=80.0, cargo="vaccines",
                lat=-1.29, lon=36.82, speed_kmh=92.0, trip_id="TRIP-KBX-1",
            ),
            alerts={warn.rule: warn},
        ),
    ]  # fmt: skip
    # The newest third of the archived trip (``place_archive``): the speed layer keeps the recent
    # history, the archive all of it.
    history = {HOT_TRUCK: [archived_point(now, i) for i in range(20, 30)]}
    writer.write_batch(states, history, [hot, warn])
    writer.heartbeat(HeartbeatRecord(instance="speed-test", at=now))
    return client


def archived_point(now: float, i: int) -> tuple[float, float]:
    """The i-th of the hot truck's 30 archived readings: flat 5 °C, then rising past 8 °C."""
    return now - 1800 + 60 * i, 5.0 if i < 15 else 5.0 + 0.5 * (i - 14)


def place_archive(settings: Settings, now: float | None = None) -> None:
    """Readings of the hot truck's trip, its alert, and a fresh bridge heartbeat."""
    now = time.time() if now is None else now
    assert settings.database_url
    rows: list[tuple[Any, ...]] = []
    for i in range(30):
        t, temp = archived_point(now, i)
        rows.append((f"ev-{i}", t, HOT_TRUCK, temp, 70.0 - 0.2 * i, TRIP, "vaccines",
                     -3.0 - 0.01 * i, 38.4 + 0.01 * i, 70.0, i))  # fmt: skip
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT ensure_reading_partition((to_timestamp(%s) AT TIME ZONE 'UTC')::date)",
            [now - 1800],
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO readings (event_id, event_time, truck_id, temp, fuel, trip_id, "
                "cargo, lat, lon, speed_kmh, source_partition, source_offset) VALUES "
                "(%s, to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s, %s, 0, %s)",
                rows,
            )
        alert = hot_alert(now)
        conn.execute(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, cargo, "
            "rule, severity, opened_at, value, threshold, message, payload, source_partition, "
            "source_offset) VALUES (%s, 'open', to_timestamp(%s), %s, %s, 'vaccines', %s, %s, "
            "to_timestamp(%s), %s, %s, %s, '{}', 0, 0)",
            [alert.alert_id, alert.changed_at, HOT_TRUCK, TRIP, alert.rule, alert.severity,
             alert.opened_at, alert.value, alert.threshold, alert.message],
        )  # fmt: skip
        conn.execute(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule, "
            "severity, opened_at, value, threshold, message, payload, source_partition, "
            "source_offset) VALUES ('a-theft-1', 'open', to_timestamp(%s), %s, %s, "
            "'fuel_theft', 'major', to_timestamp(%s), 12.0, 5.0, 'Fuel fell 12 %% while parked', "
            "'{}', 0, 1)",
            [now - 900, HOT_TRUCK, TRIP, now - 900],
        )
        conn.execute(
            "INSERT INTO bridge_heartbeat (consumer_group, instance, started_at, last_commit_at, "
            "last_batch_messages, last_batch_rejected, total_messages, total_rejected, "
            "lag_messages, lag_seconds) VALUES (%s, 'bridge-test', now(), now(), 1, 0, 30, 0, "
            "0, 0.1)",
            [settings.bridge_group],
        )


def add_users(settings: Settings) -> None:
    assert settings.database_url
    with users.connect(settings.database_url) as conn:
        for name, password in PASSWORDS.items():
            users.add_user(conn, name, ROLES[name], password)


def place_batch_views(settings: Settings, now: float | None = None) -> None:
    """The batch layer's figures for the hot trip: a failed verdict, one excursion, a theft."""
    now = time.time() if now is None else now
    assert settings.database_url
    start, end = now - 1800, now - 60
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO trips (truck_id, trip_id, trip_id_sent, driver_id, cargo, route, "
            "start_time, end_time, duration_s, distance_km, readings, gap_count, gap_s, "
            "longest_gap_s) VALUES (%s, %s, true, 'DRV-009', 'vaccines', 'mombasa_nairobi', "
            "to_timestamp(%s), to_timestamp(%s), %s, 42.0, 30, 0, 0, 0)",
            [HOT_TRUCK, TRIP, start, end, end - start],
        )
        conn.execute(
            "INSERT INTO trip_compliance (truck_id, trip_id, cargo, readings, min_c, max_c, "
            "mean_c, above_s, below_s, tor_s, tor_budget_s, defrost_s, covered_s, gap_s, mkt_c, "
            "activation_energy_kj_mol, hard_limit_passed, excursions, verdict, reason) VALUES "
            "(%s, %s, 'vaccines', 30, 5.0, 12.5, 6.9, 540, 0, 540, 3600, 0, 1800, 0, 7.4, "
            "83.144, true, 1, 'fail', 'passed the 12 °C hard limit')",
            [HOT_TRUCK, TRIP],
        )
        conn.execute(
            "INSERT INTO excursions (truck_id, trip_id, kind, start_time, end_time, ongoing, "
            "duration_s, out_s, peak_c, peak_at, alarm_at) VALUES (%s, %s, 'high', "
            "to_timestamp(%s), to_timestamp(%s), true, 540, 540, 12.5, to_timestamp(%s), "
            "to_timestamp(%s))",
            [HOT_TRUCK, TRIP, now - 540, end, end, now - 540 + 600],
        )
        conn.execute(
            "INSERT INTO fuel_efficiency (truck_id, trip_id, driver_id, route, tank_litres, "
            "distance_km, consumed_l, l_per_100km, refuelled_l, refuels, stolen_l, thefts, "
            "reefer_hours) VALUES (%s, %s, 'DRV-009', 'mombasa_nairobi', 400, 42.0, 14.7, 35.0, "
            "0, 0, 48.0, 1, 0)",
            [HOT_TRUCK, TRIP],
        )
        conn.execute(
            "INSERT INTO fuel_events (truck_id, trip_id, kind, start_time, end_time, litres, "
            "unexplained_l) VALUES (%s, %s, 'theft', to_timestamp(%s), to_timestamp(%s), 48.0, "
            "46.5)",
            [HOT_TRUCK, TRIP, now - 900, now - 840],
        )
        conn.execute(
            "INSERT INTO driver_behaviour (driver_id, truck_id, trip_id, distance_km, "
            "harsh_brakes, harsh_accels, brakes_per_100km, accels_per_100km, driving_s, "
            "speeding_s, idling_s, score) VALUES ('DRV-009', %s, %s, 42.0, 3, 1, 7.1, 2.4, "
            "1700, 120, 100, 71.5)",
            [HOT_TRUCK, TRIP],
        )
        conn.execute(
            "INSERT INTO reconciliation (truck_id, trip_id, rule, status, excursion_start, "
            "expected_at, alert_id, alert_opened_at, late_s) VALUES (%s, %s, 'temp_high', "
            "'on_time', to_timestamp(%s), to_timestamp(%s), 'a-hot-1', to_timestamp(%s), 0)",
            [HOT_TRUCK, TRIP, now - 540, now - 540 + 600, now - 600],
        )
