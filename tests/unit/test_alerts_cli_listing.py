"""`logistream alerts` for people: time order, a header, the truck, local opening times, short
ids; `alerts ack` takes a unique id prefix and refuses an unknown or ambiguous one in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logistream.errors import NotFound, Refused
from logistream.events import Alert
from logistream.speed.cli import alert_table, in_time_order, resolve_prefix, short_id_length

T0 = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp()  # 08:00 in Nairobi


def alert(alert_id: str, truck: str, opened: float, state: str = "open") -> Alert:
    return Alert(
        alert_id=alert_id,
        truck_id=truck,
        rule="temp_high",
        severity="major",
        state=state,  # type: ignore[arg-type]
        opened_at=opened,
        changed_at=opened,
        message=f"{truck} above 8 °C",
    )


IDS = [
    "3f2a9c1d-0000-5000-8000-000000000001",
    "3f2a9c1d-ffff-5000-8000-000000000002",
    "7b00e1aa-1111-5000-8000-000000000003",
]


def test_alerts_are_listed_in_the_order_they_opened() -> None:
    later, first, same_time = (
        alert(IDS[0], "KCB 781C", T0 + 600),
        alert(IDS[1], "KBX 123A", T0),
        alert(IDS[2], "KDA 555Z", T0),
    )
    ordered = in_time_order([later, same_time, first])
    assert [a.alert_id for a in ordered] == [IDS[1], IDS[2], IDS[0]]


def test_the_table_has_a_header_the_truck_and_the_local_opening_time() -> None:
    lines = alert_table(
        [alert(IDS[2], "KCB 781C", T0), alert(IDS[0], "KBX 123A", T0 + 90, "acknowledged")],
        "Africa/Nairobi",
        8,
    )
    assert lines[0].split() == ["OPENED", "TRUCK", "SEVERITY", "RULE", "STATE", "ID", "MESSAGE"]
    assert lines[1].startswith("2025-03-03 08:00 EAT  KCB 781C  major     temp_high  open  ")
    assert "  7b00e1aa  KCB 781C above 8 °C" in lines[1]
    assert lines[2].startswith("2025-03-03 08:01 EAT  KBX 123A  major     temp_high  acknowledged")
    # Columns line up: every row's id starts under the header's.
    assert (
        len({line.index(cell) for line, cell in zip(lines, ["ID", "7b00", "3f2a"], strict=True)})
        == 1
    )


def test_ids_are_shortened_only_as_far_as_they_stay_unique() -> None:
    assert short_id_length(IDS) == 10  # the first two share their first 9 characters
    assert short_id_length(IDS[1:]) == 8
    assert short_id_length([]) == 8


def test_a_unique_prefix_names_its_alert() -> None:
    assert resolve_prefix("7b00", IDS) == IDS[2]
    assert resolve_prefix("3f2a9c1d-f", IDS) == IDS[1]
    assert resolve_prefix(IDS[0], IDS) == IDS[0]


def test_an_ambiguous_prefix_is_refused_listing_the_candidates() -> None:
    with pytest.raises(Refused) as refused:
        resolve_prefix("3f2a", IDS)
    assert refused.value.reason == "ambiguous"
    assert str(refused.value) == (
        "'3f2a' is the start of 2 alert ids (3f2a9c1d-0, 3f2a9c1d-f); give more of the id"
    )


@pytest.mark.parametrize("prefix", ["9999", ""])
def test_an_unknown_prefix_is_refused_in_one_line(prefix: str) -> None:
    with pytest.raises(NotFound) as missing:
        resolve_prefix(prefix, IDS)
    assert missing.value.kind == "alert"
    assert str(missing.value) == (
        f"no alert {prefix!r} in the live views; see `logistream alerts --all`"
    )
