"""Operating modes in the batch layer's reconciliation, on a real PostgreSQL: an expected alarm
inside a mode in force is ``held_by_mode`` (not missed), a ``suppressed`` change is neither
matched nor unmatched, a refused mode holds nothing; and ``reads.modes`` gives the intervals on
the owner's and on the reader's connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, fetch, insert_readings, made_up_trip

from logistream.batch.views.recompute import recompute
from logistream.config import Settings
from logistream.reads.connect import connect_reader
from logistream.reads.modes import mode_intervals
from logistream.registry import cached_registry

REGISTRY = cached_registry()
TRUCK = "KBX 123A"
T0 = datetime(2025, 3, 3, 5, 0, tzinfo=UTC)


def add_mode(
    url: str,
    mode_id: str,
    *,
    start_h: float,
    end_h: float,
    status: str,
    version: int,
    ended_h: float | None = None,
) -> None:
    def at(h: float) -> datetime:
        return T0 + timedelta(hours=h)

    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO truck_modes (mode_id, truck_id, kind, reason, starts_at, ends_at, "
            "ended_at, set_by, set_source, status, approved_by, version, published_version) "
            "VALUES (%s, %s, 'washout', 'after fish', %s, %s, %s, 'cli:ann', 'cli', %s, %s, "
            "%s, %s)",
            [
                mode_id,
                TRUCK,
                at(start_h),
                at(end_h),
                None if ended_h is None else at(ended_h),
                status,
                "cli:bob" if status == "refused" else None,
                version,
                version,
            ],
        )


def add_alert(url: str, alert_id: str, rule: str, state: str, opened: datetime) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule, "
            "severity, opened_at, message, payload, source_partition, source_offset) "
            "VALUES (%s, %s, %s, %s, 'KBX123A-1', %s, 'major', %s, 'msg', %s, 0, 0)",
            [alert_id, state, opened, TRUCK, rule, opened, json.dumps({})],
        )


def reconciled(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY, None)
    return fetch(url, "SELECT rule, status, alert_id FROM reconciliation ORDER BY rule, status")


def test_alarms_inside_a_mode_are_held_and_suppressed_changes_match_nothing(
    settings: Settings,
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rows = made_up_trip(
        seeded_random("modes-reconcile"),
        step_s=30.0,
        theft=None,
        refuel=None,
        defrost=None,
        excursion=(1.0, 2.5, 13.0),
    )
    insert_readings(url, rows)
    # A held alarm, as the speed layer records it: its own id, state suppressed.
    add_alert(url, "a:held:m-wash", "temp_high", "suppressed", T0 + timedelta(hours=1.2))
    # A refused mode over the whole trip holds nothing.
    add_mode(url, "m-refused", start_h=0.0, end_h=6.0, status="refused", version=0)
    assert reconciled(url) == [
        ("temp_critical", "missed", None),
        ("temp_high", "missed", None),
        ("tor_budget", "missed", None),
    ]

    # A washout from 0.5 h, set to 6 h, ended early by hand at 3 h: the excursion (from 1 h)
    # and the budget spent during it were held.
    add_mode(url, "m-wash", start_h=0.5, end_h=6.0, ended_h=3.0, status="ended", version=2)
    assert reconciled(url) == [
        ("temp_critical", "held_by_mode", None),
        ("temp_high", "held_by_mode", None),
        ("tor_budget", "held_by_mode", None),
    ]

    # Ended early at 1.8 h instead: a real alert for the excursion, opened after the mode
    # ended (the speed layer's air state started fresh), is its pair, not unmatched nor late.
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE truck_modes SET ended_at = %s WHERE mode_id = 'm-wash'",
            [T0 + timedelta(hours=1.8)],
        )
    add_alert(url, "a-high", "temp_high", "open", T0 + timedelta(hours=2.1))
    got = reconciled(url)
    assert ("temp_high", "held_by_mode", "a-high") in got
    assert not [r for r in got if r[1] == "unmatched_alert"]
    assert fetch(url, "SELECT late_s FROM reconciliation WHERE alert_id = 'a-high'") == [(None,)]


def test_mode_intervals_on_the_owner_and_the_reader_connection(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    add_mode(url, "m-old", start_h=-30.0, end_h=-29.0, status="ended", version=1)
    add_mode(url, "m-early", start_h=0.5, end_h=6.0, ended_h=1.0, status="ended", version=2)
    add_mode(url, "m-withdrawn", start_h=1.5, end_h=2.0, status="ended", version=0)
    add_mode(url, "m-refused", start_h=2.0, end_h=2.5, status="refused", version=0)
    add_mode(url, "m-now", start_h=3.0, end_h=4.0, status="active", version=1)
    with psycopg.connect(url) as owner, connect_reader(settings) as reader:
        for conn in (owner, reader):
            got = mode_intervals(conn, TRUCK, T0, T0 + timedelta(hours=6))
            assert [(m.mode_id, m.ends_at, m.ended_early) for m in got] == [
                ("m-early", T0 + timedelta(hours=1), True),
                ("m-now", T0 + timedelta(hours=4), False),
            ]
            assert (got[0].kind, got[0].reason) == ("washout", "after fish")
            assert (got[0].set_by, got[0].approved_by) == ("cli:ann", None)
            assert mode_intervals(conn, "other truck", T0, T0 + timedelta(hours=6)) == []
