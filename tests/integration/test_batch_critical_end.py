"""The batch pass confirms a critical excursion's end as the pure maths (and the speed rule) do:
a short dip under the hard limit stays inside one excursion, on a real PostgreSQL, for the
shipped confirm settings and for slower ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import Row, apply_schema, fetch, insert_readings
from tests.unit.rules_support import walk_near_limit

from logistream.batch.views.recompute import recompute
from logistream.coldchain.excursions import Sample, classify, extract
from logistream.coldchain.params import DEFAULT_PARAMS, BatchParams
from logistream.config import Settings
from logistream.registry import cached_registry

REGISTRY = cached_registry()
VACCINES = REGISTRY.cargo["vaccines"]  # hard limit 12 °C, hysteresis 0.3 °C
START = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp()
# The reefer_failure run (seed 42): 12.03 °C, one reading of 11.7 °C, above 12 °C again, then
# a sustained return.
DIP = [11.80, 11.95, 12.05, 12.03, 11.70, 12.10, 12.20, 12.40, 11.5] + [11.0] * 12


def _pure(temps: list[float], step: float, p: BatchParams) -> list[tuple[object, ...]]:
    samples = [Sample(START + i * step, t) for i, t in enumerate(temps)]
    found = extract(
        classify(samples, VACCINES, p.hold_max_s),
        VACCINES,
        confirm_readings=p.critical_confirm_readings,
        confirm_s=p.critical_confirm_s,
        clear_s=p.critical_clear_s,
    )
    return [
        (e.start, e.end, e.ongoing, e.alarm_at, e.peak_c) for e in found if e.kind == "critical"
    ]


def _sql(url: str, trip: str) -> list[tuple[object, ...]]:
    def ts(value: datetime | None) -> float | None:
        return value.timestamp() if value is not None else None

    rows = fetch(
        url,
        "SELECT start_time, end_time, ongoing, alarm_at, peak_c FROM excursions "
        "WHERE trip_id = %s AND kind = 'critical' ORDER BY start_time",
        [trip],
    )
    return [(ts(s), ts(e), o, ts(a), pk) for s, e, o, a, pk in rows]


def test_the_batch_pass_keeps_a_short_dip_inside_one_critical_as_the_pure_maths(
    settings: Settings,
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-critical-end")
    step = 30.0
    trips = {"DIP-1": DIP} | {f"WALK-{k}": walk_near_limit(rng, 200) for k in range(12)}
    rows = [
        # A truck per trip: the walks share their times.
        Row(START + i * step, f"T-{trip}", t, trip_id=trip, cargo="vaccines")
        for trip, temps in trips.items()
        for i, t in enumerate(temps)
    ]
    insert_readings(url, rows)
    slow = replace(
        DEFAULT_PARAMS, critical_confirm_readings=3, critical_confirm_s=45.0, critical_clear_s=100.0
    )
    counted = replace(DEFAULT_PARAMS, critical_clear_s=0.0)
    # (params, the DIP critical's alarm reading, its end reading): the last reading past 12 °C
    # is the 8th (index 7); readings 30 s apart.
    variants = ((DEFAULT_PARAMS, 3, 17), (slow, 5, 11), (counted, 3, 9))
    compared = 0
    for params, due, end in variants:
        with psycopg.connect(url) as conn:
            recompute(conn, REGISTRY, None, params)
        for trip, temps in trips.items():
            want = _pure(temps, step, params)
            assert _sql(url, trip) == want, (trip, params.critical_confirm_readings)
            compared += len(want)
        # One critical over the dip: due at the second reading past 12 °C (the third, after the
        # dip, with the slow settings), ended by the confirmed return.
        assert [(s, e, a) for s, e, _o, a, _p in _sql(url, "DIP-1")] == [
            (START + 2 * step, START + end * step, START + due * step)
        ]
    print(f"{compared} critical excursions compared")
    assert compared > 12
