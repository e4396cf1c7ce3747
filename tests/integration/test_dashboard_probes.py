"""The dashboard on a truck with two probes, in Streamlit's AppTest over real Redis and
PostgreSQL: the truck page shows each probe's temperature and one whole chart line per probe
(archived and live points), the Live page's table and map tooltip show both probes, not whichever
reported last. Redis is filled through the speed layer's writer, the archive as its owner."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from streamlit.testing.v1 import AppTest

from logistream.config import Settings, get_settings, to_env
from logistream.events import Reading, derive_event_id
from logistream.schema.migrate import migrate
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User
from logistream.speed.state import ProbeAir, TruckState
from logistream.speed.views import ViewWriter

TWO = "KBX 123A"  # front and rear probes in the shipped devices.toml
TRIP = "TRIP-KBX-2"


def _front(i: int) -> float:
    return 4.0 + 0.1 * i


def _rear(i: int) -> float:
    return 6.0 - 0.1 * i


def _reading(now: float, i: int, probe_id: str, temp: float) -> Reading:
    ts = now - 600 + 60 * i
    return Reading(
        truck_id=TWO, temp=temp, timestamp=ts, probe_id=probe_id, cargo="vaccines",
        trip_id=TRIP, fuel=70.0, lat=-1.29, lon=36.82, speed_kmh=60.0,
        event_id=derive_event_id(TWO, ts, probe_id),
    )  # fmt: skip


def _place(settings: Settings, now: float) -> None:
    """Readings 0-5 of each probe archived, 4-9 live in Redis (4 and 5 in both)."""
    assert settings.redis_url
    assert settings.database_url
    front = [_reading(now, i, "front", _front(i)) for i in range(10)]
    rear = [_reading(now, i, "rear", _rear(i)) for i in range(10)]
    state = TruckState(
        truck_id=TWO,
        last=rear[-1],
        probes={"front": ProbeAir(last=front[-1]), "rear": ProbeAir(last=rear[-1])},
    )
    history = {
        (TWO, p): [(r.timestamp, r.temp) for r in readings[4:]]
        for p, readings in (("front", front), ("rear", rear))
    }
    client = redis.Redis.from_url(settings.redis_url)
    ViewWriter(client).write_batch([state], history, [])
    client.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT ensure_reading_partition((to_timestamp(%s) AT TIME ZONE 'UTC')::date)",
            [now - 600],
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO readings (event_id, event_time, truck_id, temp, fuel, trip_id, "
                "cargo, lat, lon, speed_kmh, probe_id, source_partition, source_offset) VALUES "
                "(%s, to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s)",
                [
                    (
                        r.event_id,
                        r.timestamp,
                        TWO,
                        r.temp,
                        r.fuel,
                        TRIP,
                        "vaccines",
                        r.lat,
                        r.lon,
                        r.speed_kmh,
                        r.probe_id,
                        n,
                    )
                    for n, r in enumerate(front[:6] + rear[:6])
                ],
            )


@pytest.fixture
def dashboard(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    for name, value in to_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    now = time.time()
    _place(settings, now)
    yield now
    get_settings.cache_clear()


def _page(module: str) -> AppTest:
    script = f"from logistream.serving.screens import {module}\n{module}.render()\n"
    page = AppTest.from_string(script, default_timeout=30)
    page.session_state[USER_KEY] = User("vic", "viewer")
    return page.run()


def _line_rows(chart: Any) -> list[dict[str, Any]]:
    """The rows of the temperature chart's line layer, the one coloured by probe (Streamlit
    sends each layer's rows apart from the spec, as Arrow)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    spec = json.loads(chart.proto.spec)
    names = [
        layer["data"]["name"]
        for layer in spec["layer"]
        if layer.get("encoding", {}).get("color", {}).get("field") == "probe"
    ]
    assert len(names) == 1, json.dumps(spec)[:800]
    [dataset] = [d for d in chart.proto.datasets if d.name == names[0]]
    rows: list[dict[str, Any]] = convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict(
        "records"
    )
    return rows


def test_truck_page_shows_each_probe_and_one_whole_line_per_probe(dashboard: float) -> None:
    page = _page("truck")
    page.selectbox[0].set_value(TWO).run()
    assert not page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Cargo °C front"] == f"{_front(9):.1f}"
    assert metrics["Cargo °C rear"] == f"{_rear(9):.1f}"
    assert "Cargo °C" not in metrics
    charts = page.get("vega_lite_chart")
    assert len(charts) == 2  # temperature with its range; fuel and speed
    by_probe: dict[str, list[float]] = {}
    for row in _line_rows(charts[0]):
        by_probe.setdefault(row["probe"], []).append(round(row["temp"], 3))
    # Each line holds its own probe's ten readings in order: six archived, four more live.
    assert by_probe == {
        "front": [round(_front(i), 3) for i in range(10)],
        "rear": [round(_rear(i), 3) for i in range(10)],
    }


def test_live_page_table_and_map_show_both_probes(dashboard: float) -> None:
    page = _page("live")
    assert not page.exception
    trucks = page.dataframe[0].value
    assert list(trucks["truck"]) == [TWO]
    assert list(trucks["temp °C"]) == [f"front {_front(9):.1f} · rear {_rear(9):.1f}"]
    [deck] = page.get("deck_gl_json_chart")
    # The tooltip's temperature, among the truck layer's rows.
    drawn = json.dumps(json.loads(deck.proto.json), ensure_ascii=False)
    assert f'"temp": "front {_front(9):.1f} °C · rear {_rear(9):.1f} °C"' in drawn
