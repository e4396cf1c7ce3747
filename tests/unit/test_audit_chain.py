"""The audit log's hash chain, pure: the canonical encoding, the genesis hash, and that a
change to any one hashed field (or to the previous hash) changes the row's hash."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from logistream.audit.chain import (
    GENESIS_HASH,
    ChainRow,
    canonical_fields,
    canonical_json,
    iso_utc,
    row_hash,
)

ROW = ChainRow(
    seq=7,
    at=datetime(2026, 12, 8, 2, 0, 0, 5, tzinfo=UTC),
    actor="alice",
    source="dashboard",
    organisation="acme-pharma",
    action="override_stage",
    subject_kind="shipment",
    subject_id="S-1",
    before={"stage": "loading", "n": [1, 2]},
    after={"stage": "in_transit"},
    reason="geofence missed the gate",
)


def test_genesis_is_64_zeros() -> None:
    assert GENESIS_HASH == "0" * 64


def test_times_are_utc_with_microseconds() -> None:
    nairobi = timezone(timedelta(hours=3))
    assert iso_utc(datetime(2026, 12, 8, 5, 0, tzinfo=nairobi)) == "2026-12-08T02:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone"):
        iso_utc(datetime(2026, 12, 8))


def test_canonical_json_sorts_keys_without_spaces_and_keeps_unicode() -> None:
    assert (
        canonical_json({"b": 1, "a": {"d": None, "c": "é"}})
        == '{"a":{"c":"é","d":null},"b":1}'.encode()
    )
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})


def test_row_hash_is_sha256_of_prev_hash_and_canonical_fields() -> None:
    expected = hashlib.sha256(
        GENESIS_HASH.encode() + canonical_json(canonical_fields(ROW))
    ).hexdigest()
    assert row_hash(GENESIS_HASH, ROW) == expected
    assert canonical_fields(ROW)["at"] == "2026-12-08T02:00:00.000005Z"
    # Key order of the JSON values does not matter (jsonb does not keep it either).
    reordered = dataclasses.replace(ROW, before={"n": [1, 2], "stage": "loading"})
    assert row_hash(GENESIS_HASH, reordered) == expected


CHANGES = {
    "seq": 8,
    "at": ROW.at + timedelta(microseconds=1),
    "actor": "bob",
    "source": "cli",
    "organisation": None,
    "action": "cancel",
    "subject_kind": "lot",
    "subject_id": "S-2",
    "before": {"stage": "loading", "n": [2, 1]},
    "after": None,
    "reason": None,
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_changing_any_one_field_changes_the_hash(field: str) -> None:
    changed = dataclasses.replace(ROW, **{field: CHANGES[field]})
    assert row_hash(GENESIS_HASH, changed) != row_hash(GENESIS_HASH, ROW)


def test_every_hashed_field_is_covered_by_the_changes_above() -> None:
    assert set(CHANGES) == {f.name for f in dataclasses.fields(ChainRow)}


def test_changing_the_previous_hash_changes_the_hash() -> None:
    assert row_hash("1" + GENESIS_HASH[1:], ROW) != row_hash(GENESIS_HASH, ROW)


def test_reason_none_and_empty_differ() -> None:
    # null and "" must not collide (the canonical JSON tells them apart).
    a = dataclasses.replace(ROW, reason=None)
    b = dataclasses.replace(ROW, reason="")
    assert row_hash(GENESIS_HASH, a) != row_hash(GENESIS_HASH, b)
