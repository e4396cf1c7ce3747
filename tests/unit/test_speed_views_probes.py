"""The speed layer's state as live-view records on a truck with several probes: each named
probe's newest temperature, and a history per probe from each probe's own trend samples."""

from __future__ import annotations

from logistream.events import Reading
from logistream.live_views import ProbeLatest
from logistream.speed.rules.trend import TrendState
from logistream.speed.state import ProbeAir, TruckState
from logistream.speed.views import history_of, latest_of, probes_of

T0 = 1_767_225_600.0


def _r(temp: float, ts: float, probe_id: str | None = None) -> Reading:
    return Reading(truck_id="KBX 123A", temp=temp, timestamp=ts, probe_id=probe_id)


def test_each_named_probe_shows_its_own_newest_temperature() -> None:
    state = TruckState(
        truck_id="KBX 123A",
        last=_r(5.1, T0 + 60, "rear"),
        probes={
            "rear": ProbeAir(last=_r(5.1, T0 + 60, "rear")),
            "front": ProbeAir(last=_r(4.8, T0 + 30, "front")),
            "return": ProbeAir(),  # no reading yet: not shown
        },
    )
    want = (ProbeLatest("front", 4.8, T0 + 30), ProbeLatest("rear", 5.1, T0 + 60))
    assert probes_of(state) == want
    [latest] = latest_of([state])
    assert latest.probes == want
    assert latest.reading.temp == 5.1


def test_a_single_probe_truck_has_no_probe_list() -> None:
    state = TruckState(truck_id="KCK 293K", last=_r(4.0, T0))
    [latest] = latest_of([state])
    assert latest.probes == ()
    assert probes_of(state) == ()


def test_a_rebuild_writes_each_probe_its_own_trend_samples() -> None:
    front = ((T0, 4.0), (T0 + 60, 4.1))
    rear = ((T0, 6.0), (T0 + 60, 5.9))
    two = TruckState(
        truck_id="KBX 123A",
        last=_r(5.9, T0 + 60, "rear"),
        probes={
            "front": ProbeAir(trend=TrendState(points=front)),
            "rear": ProbeAir(trend=TrendState(points=rear)),
            "spare": ProbeAir(),
        },
    )
    one = TruckState(truck_id="KCK 293K", last=_r(3.0, T0), trend=TrendState(points=((T0, 3.0),)))
    assert history_of([two, one]) == {
        ("KBX 123A", "front"): front,
        ("KBX 123A", "rear"): rear,
        ("KCK 293K", None): ((T0, 3.0),),
    }
