"""Benchmark: shipment report generation for a 3-drop, 12-hour shipment (goal < 2 s).

The example vaccine shipment (Nairobi store → Kisumu → Kakamega → Bungoma, four lots) on a day
in the past, its truck's two probes archived every 10 s for 12 hours (8,640 readings, with GPS)
in a fresh PostgreSQL database; a rear-probe excursion after Kisumu and a rejected lot at Bungoma
give the report something to say. One run is what ``logistream report shipment ID --format
pdf`` does after its connection: stages replayed from the archived positions, the lots' figures
and verdicts, alerts and notifications, the digest, a new version stored (the run is rolled
back, so each run issues version 1 anew), and the PDF rendered. Median of several runs.

Baseline, same run and readings: the trip report of the same readings as one trip (its batch
views recomputed privately, its digest, a version stored, its PDF), which the shipment report's
design follows.

Servers: LOGISTREAM_TEST_DATABASE_URL (a role that may create databases) when set, else the
local stack's PostgreSQL. The database is dropped after.

    python bench/bench_shipment_report.py            # 7 runs
    python bench/bench_shipment_report.py --smoke    # 2 runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

# Run as a script (``python bench/bench_shipment_report.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logistream.shipments
from logistream.batch.reports.render import render
from logistream.batch.reports.shipment import issue
from logistream.batch.reports.shipment_render import render_shipment
from logistream.batch.reports.trip import issue as issue_trip
from logistream.config import Settings, resolve_endpoints
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.shipments.parse import parse_shipment
from logistream.shipments.store import ShipmentStore, new_record

DAY = "2026-11-30"
START = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
STEP_S = 10
TRIP = "KCB781C-BENCH"
BRIDGE_PW = "bench-bridge-pw"
READER_PW = "bench-reader-pw"


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _shipment() -> Any:
    example = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
    text = example.read_text(encoding="utf-8").replace("2026-12-08", DAY)
    return parse_shipment(tomllib.loads(text), load_registry())


def _track(shipment: Any) -> list[tuple[datetime, tuple[float, float]]]:
    """12 hours: 30 min at each stop, the legs between on the road (inside no fence)."""
    middle = shipment.stops[-1].geofence.shape.centroid
    bungoma = (float(middle.y), float(middle.x))
    legs = [
        (0.0, 0.5, (-1.2864, 36.8172)),
        (0.5, 7.0, (-0.8, 35.9)),
        (7.0, 7.5, (-0.0917, 34.768)),
        (7.5, 9.0, (0.1, 34.9)),
        (9.0, 9.5, (0.2827, 34.7519)),
        (9.5, 11.0, (0.42, 34.65)),
        (11.0, 11.5, bungoma),
        (11.5, 12.0, (0.42, 34.65)),
    ]
    out = []
    for start_h, end_h, where in legs:
        t = START + timedelta(hours=start_h)
        while t < START + timedelta(hours=end_h):
            out.append((t, where))
            t += timedelta(seconds=STEP_S)
    return out


def _archive(conn: psycopg.Connection[Any], shipment: Any) -> int:
    conn.execute("SELECT ensure_reading_partition(%s::date)", [DAY])
    columns = (
        "event_id, event_time, truck_id, temp, lat, lon, probe_id, cargo, trip_id, "
        "source_partition, source_offset"
    )
    excursion = (START + timedelta(hours=8), START + timedelta(hours=8, minutes=20))
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY readings ({columns}) FROM STDIN") as copy:
        for i, (at, (lat, lon)) in enumerate(_track(shipment)):
            for probe in ("front", "rear"):
                warm = probe == "rear" and excursion[0] <= at <= excursion[1]
                temp = 9.5 if warm else (5.0 if probe == "front" else 5.5)
                copy.write_row(
                    (f"{probe}-{i}", at, shipment.truck_id, temp, lat, lon, probe, "vaccines",
                     TRIP, 0, n)
                )  # fmt: skip
                n += 1
    bungoma = len(shipment.stops) - 1
    conn.execute(
        "INSERT INTO shipment_pod (shipment_id, lot_number, stop_index, stop_id, decision, "
        "recorded_by, signer_name, organisation, signed_at, note, temperature, version) "
        "VALUES (%s, 'MR-2613', %s, %s, 'rejected', 'bench', 'Bench Receiver', %s, %s, "
        "'cartons warm', '{}', 1)",
        [shipment.shipment_id, bungoma, shipment.stops[bungoma].stop_id,
         shipment.receiver.org_id, START + timedelta(hours=11, minutes=10)],
    )  # fmt: skip
    return n


def _timed(runs: int, once: Any) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        once()
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="2 runs")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = 2 if args.smoke else args.runs

    admin_url = os.environ.get("LOGISTREAM_TEST_DATABASE_URL") or resolve_endpoints().database_url
    database = f"bench_shipment_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=_with_db(admin_url, database),
        bridge_db_password=BRIDGE_PW,
        reader_db_password=READER_PW,
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        assert settings.database_url
        migrate(settings, settings.database_url)
        registry = load_registry()
        shipment = _shipment()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            ShipmentStore(conn, registry).create(
                new_record(shipment, START - timedelta(hours=1)), "bench"
            )
            readings = _archive(conn, shipment)
            record = ShipmentStore(conn, registry).get(shipment.shipment_id)
            assert record is not None
        print(f"3-drop, 12-hour shipment: {readings:,} readings of 2 probes every {STEP_S} s")

        with psycopg.connect(settings.database_url) as conn:

            def shipment_report() -> None:
                with conn.transaction(force_rollback=True):
                    content = issue(conn, registry, record)
                    render_shipment(content, "pdf")
                    assert content["version"] == 1

            def trip_report() -> None:
                with conn.transaction(force_rollback=True):
                    content = issue_trip(conn, registry, TRIP, shipment.truck_id)
                    render(content, "pdf")

            shipment_report()  # warm: imports, reportlab fonts, plans
            trip_report()
            times = _timed(runs, shipment_report)
            baseline = _timed(runs, trip_report)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    median, base = statistics.median(times), statistics.median(baseline)
    print(f"shipment report (issue + PDF), median of {runs}: {median:.3f} s (goal < 2 s)")
    print(f"baseline trip report of the same readings (issue + PDF): {base:.3f} s")
    result = {
        "bench": "shipment_report",
        "readings": readings,
        "runs": runs,
        "median_s": round(median, 4),
        "max_s": round(max(times), 4),
        "baseline_trip_s": round(base, 4),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
