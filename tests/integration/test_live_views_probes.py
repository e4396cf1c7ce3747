"""Live views of a truck with several probes, over a real Redis: the speed layer's writer keeps
each named probe's newest temperature and a whole temperature history per probe (as long as a
single-probe truck's), and a single-probe truck reads back exactly as before; so does a real
`logistream speed` fed through Kafka."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import redis
from tests.helpers import wait_until
from tests.integration.speed_support import produce, speed_process
from tests.integration.speed_support import reading as speed_reading

from logistream.config import Settings
from logistream.events import Reading, derive_event_id
from logistream.live_views import ProbeLatest, RedisLiveViews
from logistream.live_views.interface import HistoryKey
from logistream.live_views.redis_layout import TEMP_HISTORY_LEN
from logistream.registry import load_registry
from logistream.registry.rules import load_rules_config
from logistream.speed import engine
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

T0 = 1_767_225_600.0
TWO = "KBX 123A"  # front and rear probes in devices.toml
ONE = "KCK 293K"  # a single probe
STEPS = TEMP_HISTORY_LEN + 60  # more event times than one history keeps


def _front(i: int) -> float:
    return round(4.0 + 0.001 * i, 3)


def _rear(i: int) -> float:
    return round(6.0 - 0.001 * i, 3)


def _reading(truck: str, i: int, temp: float, probe_id: str | None) -> Reading:
    ts = T0 + 60 * i
    return Reading(
        truck_id=truck,
        temp=temp,
        timestamp=ts,
        event_id=derive_event_id(truck, ts, probe_id),
        probe_id=probe_id,
        cargo="vaccines",
        trip_id=f"TR-{truck}",
        fuel=70.0,
    )


def _readings() -> list[Reading]:
    """Both trucks' readings in event-time order; the two probes of one second together."""
    out: list[Reading] = []
    for i in range(STEPS):
        out += [_reading(TWO, i, _front(i), "front"), _reading(TWO, i, _rear(i), "rear")]
        out.append(_reading(ONE, i, 5.0 + 0.001 * i, None))
    return out


def _run(writer: ViewWriter, readings: Iterable[Reading], batch: int) -> dict[str, TruckState]:
    """The engine over the readings, written through the speed layer's writer in batches keyed
    as the stream processor keys them."""
    registry = load_registry()
    contexts = engine.Contexts(registry, load_rules_config())
    states: dict[str, TruckState] = {}
    touched: dict[str, TruckState] = {}
    history: dict[HistoryKey, list[tuple[float, float]]] = {}
    for n, reading in enumerate(readings, 1):
        state = states.get(reading.truck_id) or engine.new_state(reading.truck_id)
        step = engine.process(state, reading, 0, contexts.get(reading.truck_id, reading.cargo))
        assert step.accepted
        states[reading.truck_id] = touched[reading.truck_id] = step.state
        history.setdefault((reading.truck_id, reading.probe_id), []).append(
            (reading.timestamp, reading.temp)
        )
        if n % batch == 0:
            writer.write_batch(touched.values(), history, [])
            touched, history = {}, {}
    writer.write_batch(touched.values(), history, [])
    return states


def _expected(truck: str, probe_id: str | None) -> list[tuple[float, float]]:
    return [
        (r.timestamp, r.temp) for r in _readings() if r.truck_id == truck and r.probe_id == probe_id
    ]


def _is_tail(got: list[tuple[float, float]], whole: list[tuple[float, float]]) -> bool:
    return bool(got) and got == whole[-len(got) :]


def test_each_probe_keeps_its_latest_temperature_and_a_whole_history(client: redis.Redis) -> None:
    _run(ViewWriter(client), _readings(), batch=25)
    views = RedisLiveViews(client)
    last = STEPS - 1

    truck = views.truck(TWO)
    assert truck is not None
    assert truck.probes == (
        ProbeLatest("front", _front(last), T0 + 60 * last),
        ProbeLatest("rear", _rear(last), T0 + 60 * last),
    )
    # The truck's own reading is still the newest of any probe.
    assert truck.reading.timestamp == T0 + 60 * last
    assert truck.reading.probe_id in {"front", "rear"}

    for probe_id in ("front", "rear"):
        got = views.temperature_history(TWO, probe_id)
        # A probe's curve holds only its own readings, none of the other probe's, in order, and
        # as many as a single-probe truck keeps (trimming leaves a few more at most).
        assert _is_tail(got, _expected(TWO, probe_id)), probe_id
        assert TEMP_HISTORY_LEN <= len(got) < TEMP_HISTORY_LEN + 32
    # Nothing of the two probes lands on the single-probe history, so no zigzag.
    assert views.temperature_history(TWO) == []

    single = views.temperature_history(ONE)
    assert _is_tail(single, _expected(ONE, None))
    assert TEMP_HISTORY_LEN <= len(single) < TEMP_HISTORY_LEN + 32


def test_a_single_probe_truck_reads_back_as_before(client: redis.Redis) -> None:
    _run(ViewWriter(client), _readings(), batch=25)
    view = RedisLiveViews(client).truck(ONE)
    assert view is not None
    assert view.probes == ()
    assert view.reading.probe_id is None
    assert view.reading.temp == 5.0 + 0.001 * (STEPS - 1)
    # Its hash and history keys are those of the single-probe layout, nothing more ("mode" is
    # always written, empty without an operating mode, so that an ended mode leaves the view).
    fields = {f.decode() for f in client.hkeys(f"ls:truck:{ONE}")}
    assert fields == {"reading", "status", "alerts", "event_time", "updated_at", "mode"}
    assert "probes" in {f.decode() for f in client.hkeys(f"ls:truck:{TWO}")}
    keys = {key.decode() for key in client.scan_iter(match="ls:*temp:*")}
    assert keys == {f"ls:temp:{ONE}", f"ls:ptemp:{TWO}@front", f"ls:ptemp:{TWO}@rear"}


def test_a_rebuild_from_state_writes_each_probe_again(client: redis.Redis) -> None:
    writer = ViewWriter(client)
    states = _run(writer, _readings(), batch=50)
    before = RedisLiveViews(client).truck(TWO)
    client.flushdb()

    writer.rewrite(states.values(), [0])
    views = RedisLiveViews(client)
    after = views.truck(TWO)
    assert after is not None
    assert before is not None
    assert after.probes == before.probes
    for probe_id in ("front", "rear"):
        trend = states[TWO].probes[probe_id].trend.points
        assert trend, probe_id
        assert views.temperature_history(TWO, probe_id) == list(trend)
        assert _is_tail(list(trend), _expected(TWO, probe_id))
    assert views.temperature_history(ONE) == list(states[ONE].trend.points)
    assert views.temperature_history(TWO) == []
    one = views.truck(ONE)
    assert one is not None
    assert one.probes == ()


def test_a_rebuild_drops_a_stale_probes_field(client: redis.Redis) -> None:
    """A truck whose probes were taken off the registry: its rebuilt view has no probe list."""
    writer = ViewWriter(client)
    states = _run(writer, _readings()[:30], batch=10)
    assert RedisLiveViews(client).truck(TWO) is not None
    single = TruckState(truck_id=TWO, last=_reading(TWO, 99, 5.5, None))
    writer.rewrite([single, states[ONE]], [0])
    view = RedisLiveViews(client).truck(TWO)
    assert view is not None
    assert (view.probes, view.reading.temp) == ((), 5.5)


def test_a_real_speed_process_keeps_each_probes_history(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    """Through Kafka and `logistream speed`: the front and rear readings of each second land on
    their own probe's history, and the truck's view lists both probes' newest temperatures."""
    start = time.time() - 3600
    records = []
    for i in range(30):
        ts = start + 60 * i
        for probe_id, temp in (("front", _front(i)), ("rear", _rear(i))):
            value = speed_reading(TWO, ts, temp, probe_id=probe_id, cargo="vaccines")
            records.append((TWO, value))
    produce(settings, records)
    views = RedisLiveViews(client)

    def both_seen() -> bool:
        view = views.truck(TWO)
        return view is not None and [p.timestamp for p in view.probes] == [start + 60 * 29] * 2

    with speed_process(settings_env, log=tmp_path / "speed.log"):
        wait_until(both_seen, timeout=60, what="both probes' newest readings in the views")
    view = views.truck(TWO)
    assert view is not None
    assert [(p.probe_id, p.temp) for p in view.probes] == [
        ("front", _front(29)),
        ("rear", _rear(29)),
    ]
    for probe_id, temp_of in (("front", _front), ("rear", _rear)):
        want = [(start + 60 * i, temp_of(i)) for i in range(30)]
        assert views.temperature_history(TWO, probe_id) == want, probe_id
    assert views.temperature_history(TWO) == []
