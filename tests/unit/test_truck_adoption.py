"""Adopting an unknown truck into the registry, and which unknown trucks are listed (pure, and
the registry folder on disk)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logistream.errors import ConfigError
from logistream.events import Reading
from logistream.live_views import TruckView
from logistream.reads.truck_decisions import TruckDecision
from logistream.registry import load_registry
from logistream.registry.adoption import Adoption, add_to_fleet, fleet_entry, problems
from logistream.serving.unknown_trucks import unknown

GOOD = Adoption("KZZ 999Z", "DRV-099", "naivasha_mombasa", "vaccines", 380.0)


def test_a_good_entry_has_no_problem_and_reads_back_as_toml() -> None:
    assert problems(GOOD, load_registry()) == []
    entry = tomllib.loads(fleet_entry(Adoption('KZZ "9"', "D", "r", "c")))
    assert entry["truck"][0]["id"] == 'KZZ "9"'  # quoted, never breaking the file


def test_each_problem_is_named() -> None:
    bad = Adoption("KBX 123A", " ", "nowhere", "beer", 5.0)
    found = " | ".join(problems(bad, load_registry()))
    for words in ("already in the fleet", "driver id", "unknown route 'nowhere'", "beer", "tank"):
        assert words in found


def test_adoption_into_an_empty_folder_keeps_the_shipped_fleet(tmp_path: Path) -> None:
    shipped = load_registry().truck_index
    written = add_to_fleet(tmp_path, GOOD)
    assert written == tmp_path / "fleet.toml"
    after = load_registry(tmp_path)
    assert set(after.truck_index) == set(shipped) | {"KZZ 999Z"}
    assert after.truck_index["KZZ 999Z"].route == "naivasha_mombasa"


def test_a_refused_adoption_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    add_to_fleet(tmp_path, GOOD)
    before = (tmp_path / "fleet.toml").read_bytes()
    with pytest.raises(ConfigError, match="unknown route"):
        add_to_fleet(tmp_path, Adoption("KZZ 111A", "DRV-1", "atlantis", "vaccines"))
    with pytest.raises(ConfigError, match="already in the fleet"):
        add_to_fleet(tmp_path, GOOD)
    assert (tmp_path / "fleet.toml").read_bytes() == before


def _view(truck: str, ts: float) -> TruckView:
    return TruckView(truck, Reading(truck_id=truck, temp=5.0, timestamp=ts), "ok", (), ts)


def _decided(truck: str, decision: str, ts: float) -> TruckDecision:
    when = datetime.fromtimestamp(ts, UTC)
    return TruckDecision(truck, decision, "ann", when, "")  # type: ignore[arg-type]


def test_a_dismissed_truck_is_hidden_until_it_reports_again() -> None:
    views = [_view("KBX 123A", 100.0), _view("TEST-1", 100.0), _view("TYPO-2", 300.0)]
    decisions = {"TEST-1": _decided("TEST-1", "dismissed", 200.0)}
    listed = unknown(views, {"KBX 123A"}, decisions)
    assert [u.truck_id for u in listed] == ["TYPO-2"]
    decisions["TYPO-2"] = _decided("TYPO-2", "dismissed", 200.0)  # it reported after (300)
    again = unknown(views, {"KBX 123A"}, decisions)
    assert [u.truck_id for u in again] == ["TYPO-2"]
    assert "reported again since" in again[0].situation("UTC")


def test_an_adopted_truck_stays_listed_until_the_registry_has_it() -> None:
    views = [_view("NEW-1", 100.0)]
    listed = unknown(views, set(), {"NEW-1": _decided("NEW-1", "adopted", 200.0)})
    assert "adopted by ann" in listed[0].situation("UTC")
    assert unknown(views, {"NEW-1"}, {}) == []
