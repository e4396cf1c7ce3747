"""Batch views of a truck with two probes, on a real PostgreSQL: each probe is judged on its own
readings, the trip gets its worst probe's verdict with the probe named, the vehicle figures count
each event time once, and an excursion is reconciled with the alert raised for its probe."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from tests.helpers import seeded_random
from tests.integration.batch_support import (
    READING_COLUMNS,
    Row,
    apply_schema,
    fetch,
    made_up_trip,
)

from logistream.batch.views.probes import ProbeVerdict, trip_verdict
from logistream.batch.views.recompute import recompute
from logistream.coldchain.compliance import trip_compliance
from logistream.coldchain.excursions import Sample
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.config import Settings
from logistream.registry import cached_registry

REGISTRY = cached_registry()
TRUCK, TRIP = "KBX 123A", "KBX123A-1"

COMPLIANCE = (
    "cargo, readings, min_c, max_c, mean_c, above_s, below_s, tor_s, tor_budget_s, defrost_s, "
    "covered_s, gap_s, mkt_c, activation_energy_kj_mol, hard_limit_passed, excursions, "
    "tor_alarm_at, verdict"
)
"""trip_compliance's figures (all but the keys and the reason)."""
VEHICLE = {
    "trips": "truck_id, trip_id, trip_id_sent, driver_id, cargo, route, start_time, end_time, "
    "duration_s, start_lat, start_lon, end_lat, end_lon, distance_km, gap_count, gap_s, "
    "longest_gap_s",
    "trip_gaps": "truck_id, trip_id, gap_start, gap_end, gap_s",
    "fuel_efficiency": "*",
    "fuel_events": "*",
    "driver_behaviour": "*",
}
"""The vehicle views, and their columns that must not depend on the number of probes."""


def insert(url: str, rows: list[tuple[Row, str | None]]) -> None:
    """Readings with their probe (None: the single probe), each with its own event id."""
    days = sorted({datetime.fromtimestamp(r.t, UTC).date() for r, _ in rows})
    with psycopg.connect(url) as conn:
        for day in days:
            conn.execute("SELECT ensure_reading_partition(%s)", [day])
        columns = ", ".join((*READING_COLUMNS, "probe_id"))
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY readings ({columns}) FROM STDIN") as copy,
        ):
            for i, (r, probe) in enumerate(rows):
                event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{r.truck_id}|{probe}|{r.t!r}"))
                copy.write_row((*replace(r, event_id=event_id).values(i), probe))


def run_batch(url: str) -> None:
    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY)


def vehicle_views(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: fetch(url, f"SELECT {columns} FROM {table} ORDER BY 1, 2, 3")
        for table, columns in VEHICLE.items()
    }


def add_alert(url: str, alert_id: str, rule: str, opened: datetime, probe: str | None) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule, "
            "severity, opened_at, message, payload, source_partition, source_offset, probe_id) "
            "VALUES (%s, 'open', %s, %s, %s, %s, 'major', %s, 'msg', %s, 0, 0, %s)",
            [alert_id, opened, TRUCK, TRIP, rule, opened, json.dumps({}), probe],
        )


def test_two_probes_are_judged_apart_and_the_vehicle_counted_once(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-probes")
    # The rear probe sees an excursion above 8 °C; the front one stays near 5 °C all along. Both
    # come in the same messages: the same event times, GPS, speed and fuel.
    rear = made_up_trip(rng, step_s=20.0, defrost=None, excursion=(1.5, 2.4, 10.5))
    front = [replace(r, temp=round(5.0 + rng.gauss(0, 0.15), 2)) for r in rear]

    # The same trip with a single probe (the rear one's readings): the reference figures.
    insert(url, [(r, None) for r in rear])
    run_batch(url)
    single_vehicle = vehicle_views(url)
    (single,) = fetch(url, f"SELECT {COMPLIANCE}, reason FROM trip_compliance")
    single_excursions = fetch(
        url,
        "SELECT kind, start_time, end_time, out_s, peak_c, alarm_at, probe_id FROM excursions "
        "ORDER BY kind, start_time",
    )
    assert single_excursions
    assert {e[-1] for e in single_excursions} == {""}
    assert single[-2] != "pass"
    assert fetch(url, "SELECT count(*) FROM probe_compliance") == [(0,)]
    assert single_vehicle["fuel_events"]
    assert single_vehicle["driver_behaviour"][0][3] > 0

    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM readings")
    insert(url, [(r, "front") for r in front] + [(r, "rear") for r in rear])
    run_batch(url)

    # The vehicle figures are those of the single-probe trip: each event time counted once.
    assert vehicle_views(url) == single_vehicle
    assert fetch(url, "SELECT readings FROM trips") == [(2 * len(rear),)]

    # Each probe has its own compliance; the rear probe's is exactly the single probe's.
    probes = {
        row[0]: row[1:]
        for row in fetch(url, f"SELECT probe_id, {COMPLIANCE}, reason FROM probe_compliance")
    }
    assert set(probes) == {"front", "rear"}
    assert probes["rear"] == single
    front_figures = dict(zip(COMPLIANCE.split(", "), probes["front"][:-1], strict=True))
    assert front_figures["verdict"] == "pass"
    assert front_figures["excursions"] == 0
    assert front_figures["tor_s"] == 0
    assert front_figures["max_c"] < 8.0
    assert front_figures["readings"] == len(front)
    assert probes["front"][-1] == "always within range"

    # The pure maths, probe by probe, say the same; so does the pure worst-probe rule.
    profile = REGISTRY.cargo["vaccines"]
    verdicts = []
    for probe, rows in (("front", front), ("rear", rear)):
        pure = trip_compliance(
            [Sample(r.t, r.temp, bool(r.defrost), "", r.lat, r.lon) for r in rows],
            profile,
            DEFAULT_PARAMS.hold_max_s,
        )
        got = dict(zip(COMPLIANCE.split(", "), probes[probe][:-1], strict=True))
        assert got["verdict"] == pure.verdict
        assert probes[probe][-1] == pure.reason
        assert got["tor_s"] == pytest.approx(pure.tor_s, abs=1e-3)
        assert got["mkt_c"] == pytest.approx(pure.mkt_c, abs=1e-6)
        assert got["mean_c"] == pytest.approx(pure.mean_c, abs=1e-6)
        assert got["excursions"] == len([e for e in pure.excursions if e.kind != "critical"])
        verdicts.append(
            ProbeVerdict(
                probe,
                pure.verdict,
                pure.reason,
                pure.hard_limit_passed,
                pure.tor_s,
                got["excursions"],
                pure.mkt_c,
            )
        )

    # The trip's verdict is the rear probe's, and its reason names the probe.
    (trip,) = fetch(url, f"SELECT {COMPLIANCE}, reason FROM trip_compliance")
    assert trip[:-1] == single[:-1]
    assert trip[-1] == f"rear probe: {single[-1]}"
    assert (trip[-2], trip[-1]) == trip_verdict(verdicts)

    # The excursions are the rear probe's, as the single probe had them.
    excursions = fetch(
        url,
        "SELECT kind, start_time, end_time, out_s, peak_c, alarm_at, probe_id FROM excursions "
        "ORDER BY kind, start_time",
    )
    assert excursions == [(*e[:-1], "rear") for e in single_excursions]

    # Reconciliation per probe: the rear probe's alert matches its excursion; the same rule
    # raised for the front probe matches nothing.
    (high_at,) = fetch(
        url, "SELECT alarm_at FROM excursions WHERE kind = 'high' ORDER BY start_time LIMIT 1"
    )[0]
    assert high_at is not None
    add_alert(url, "a-rear", "temp_high", high_at, "rear")
    add_alert(url, "a-front", "temp_high", high_at, "front")
    run_batch(url)
    got = fetch(
        url,
        "SELECT rule, probe_id, status, alert_id FROM reconciliation "
        "WHERE rule = 'temp_high' ORDER BY alert_id NULLS FIRST",
    )
    assert ("temp_high", "rear", "on_time", "a-rear") in got
    assert ("temp_high", "front", "unmatched_alert", "a-front") in got
    assert all(row[1] == "rear" for row in got if row[2] != "unmatched_alert")


def test_a_probe_that_stops_reporting_leaves_the_vehicle_figures_whole(
    settings: Settings,
) -> None:
    """The vehicle figures come from the probe with the most readings: a probe that dies
    half-way takes neither distance nor fuel with it."""
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-probes-dead")
    rows = made_up_trip(rng, step_s=30.0, defrost=None, excursion=None, hours=3.0)
    insert(url, [(r, None) for r in rows])
    run_batch(url)
    single_vehicle = vehicle_views(url)

    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM readings")
    half = rows[: len(rows) // 2]
    # "a" sorts first: were it chosen on a tie, its half trip would be the vehicle's.
    insert(url, [(r, "a-front") for r in half] + [(r, "rear") for r in rows])
    run_batch(url)
    assert vehicle_views(url) == single_vehicle
    verdicts = dict(fetch(url, "SELECT probe_id, readings FROM probe_compliance"))
    assert verdicts == {"a-front": len(half), "rear": len(rows)}


@pytest.mark.parametrize("probe", [None, "front"])
def test_a_trip_of_one_probe_keeps_its_reason_unless_the_probe_is_named(
    settings: Settings, probe: str | None
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-probes-one")
    rows = made_up_trip(rng, step_s=60.0, defrost=None, excursion=None, hours=2.0)
    insert(url, [(r, probe) for r in rows])
    run_batch(url)
    (reason,) = fetch(url, "SELECT reason FROM trip_compliance")[0]
    rows_per_probe = fetch(url, "SELECT probe_id FROM probe_compliance")
    if probe is None:
        assert reason == "always within range"
        assert rows_per_probe == []
    else:
        assert reason == "front probe: always within range"
        assert rows_per_probe == [("front",)]


def test_the_trip_report_and_audits_show_each_probe(settings: Settings) -> None:
    """The issued report lists each probe's figures beside its calibration record, names the
    probe of each excursion, and draws one line per probe; the audits read gives per-probe rows."""
    from logistream.batch.reports.render import render
    from logistream.batch.reports.trip import issue
    from logistream.reads import tables

    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-probes-report")
    rear = made_up_trip(rng, step_s=30.0, defrost=None, excursion=(1.5, 2.4, 10.5), hours=4.0)
    front = [replace(r, temp=round(5.0 + rng.gauss(0, 0.15), 2)) for r in rear]
    insert(url, [(r, "front") for r in front] + [(r, "rear") for r in rear])
    run_batch(url)
    with psycopg.connect(url) as conn:
        content = issue(conn, REGISTRY, TRIP, TRUCK)
        audit = tables.trip_probes(conn, TRUCK, TRIP).records()
        excursion_rows = tables.trip_excursions(conn, TRUCK, TRIP).records()
    probes = {p["probe_id"]: p for p in content["probes"]}
    assert set(probes) == {"front", "rear"}
    assert probes["front"]["certificate"] == "CAL-2026-0141"
    assert probes["front"]["verdict"] == "pass"
    assert probes["front"]["excursions"] == 0
    assert probes["rear"]["certificate"] == "CAL-2026-0142"
    assert probes["rear"]["verdict"] == content["verdict"] != "pass"
    assert probes["rear"]["excursions"] > 0
    assert probes["rear"]["tor_s"] > 0
    assert probes["rear"]["mkt_c"] > probes["front"]["mkt_c"]
    assert content["reason"] == f"rear probe: {probes['rear']['reason']}"
    assert {e["probe_id"] for e in content["excursions"]} == {"rear"}
    assert {p[3] for p in content["series"]} == {"front", "rear"}
    assert len(content["series"]) == 2 * len(rear) == content["readings"]
    text = render(content, "csv").decode()
    assert "CAL-2026-0142" in text
    assert ",rear,rear,0.1,CAL-2026-0142,2026-11-08,2027-11-08,False," in text
    assert render(content, "pdf").startswith(b"%PDF")
    assert [(r["probe"], r["verdict"]) for r in audit] == [
        ("front", "pass"),
        ("rear", probes["rear"]["verdict"]),
    ]
    assert {r["probe"] for r in excursion_rows} == {"rear"}


def test_serial_parallel_and_single_trip_runs_agree_on_probes(settings: Settings) -> None:
    """The per-probe views are the same from a full serial run, a run again, a parallel run in
    slices and a run of the one trip (the staging and private copies list probe_compliance)."""
    from logistream.batch.views.recompute import VIEW_TABLES, Scope

    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-probes-runs")
    rear = made_up_trip(rng, step_s=60.0, defrost=None, excursion=(1.0, 1.6, 11.0), hours=3.0)
    front = [replace(r, temp=round(5.0 + rng.gauss(0, 0.15), 2)) for r in rear]
    other = made_up_trip(
        rng, truck_id="KCA 452B", trip_id="KCA452B-1", cargo="frozen", step_s=60.0, hours=2.0
    )
    insert(url, [(r, "front") for r in front] + [(r, "rear") for r in rear])
    insert(url, [(r, None) for r in other])

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        return {
            table: fetch(url, f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5")
            for table in (*VIEW_TABLES, "reconciliation")
        }

    run_batch(url)
    first = snapshot()
    assert len(first["probe_compliance"]) == 2
    assert len(first["trip_compliance"]) == 2
    run_batch(url)
    assert snapshot() == first
    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY, workers=2)
    assert snapshot() == first
    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY, Scope(truck_id=TRUCK, trip_id=TRIP))
    assert snapshot() == first
