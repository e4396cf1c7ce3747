"""The API's documented models must say exactly what the wire contract (events.py) says.

FastAPI documents pydantic models while the pipeline decodes with msgspec; these tests keep the
two descriptions of one contract from drifting apart: the same fields, each with the same type,
the same required-ness and nullability, and the same bounds (ge/le/gt/lt, string lengths) or
allowed values.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types
import msgspec
import pytest
from pydantic import BaseModel

from logistream import events
from logistream.api import schemas

Spec = tuple[str, bool, bool, tuple[tuple[str, Any], ...]]
"""(kind, required, nullable, bounds): one field as a documented contract states it."""

_BOUND_NAMES = ("gt", "ge", "lt", "le", "min_length", "max_length")


def _msgspec_kind(info: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(info, msgspec.inspect.LiteralType):
        return "literal", {"values": frozenset(info.values)}
    kind = {
        msgspec.inspect.StrType: "str",
        msgspec.inspect.FloatType: "float",
        msgspec.inspect.IntType: "int",
        msgspec.inspect.BoolType: "bool",
    }[type(info)]
    bounds = {n: getattr(info, n) for n in _BOUND_NAMES if getattr(info, n, None) is not None}
    return kind, bounds


def contract_fields(struct: type[msgspec.Struct]) -> dict[str, Spec]:
    out: dict[str, Spec] = {}
    for field in msgspec.inspect.type_info(struct).fields:
        info, nullable = field.type, False
        if isinstance(info, msgspec.inspect.UnionType):
            kept = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
            nullable = len(kept) < len(info.types)
            (info,) = kept
        kind, bounds = _msgspec_kind(info)
        out[field.name] = (kind, field.required, nullable, tuple(sorted(bounds.items())))
    return out


def documented_fields(model: type[BaseModel]) -> dict[str, Spec]:
    out: dict[str, Spec] = {}
    for name, field in model.model_fields.items():
        annotation, nullable = field.annotation, False
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            kept = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = len(kept) < len(typing.get_args(annotation))
            (annotation,) = kept
        bounds: dict[str, Any] = {}
        if typing.get_origin(annotation) is typing.Literal:
            kind, bounds = "literal", {"values": frozenset(typing.get_args(annotation))}
        else:
            kind = {str: "str", float: "float", int: "int", bool: "bool"}[annotation]
        for meta in field.metadata:
            if isinstance(meta, annotated_types.MinLen):
                bounds["min_length"] = meta.min_length
            elif isinstance(meta, annotated_types.MaxLen):
                bounds["max_length"] = meta.max_length
            else:
                for bound in ("gt", "ge", "lt", "le"):
                    if isinstance(meta, getattr(annotated_types, bound.capitalize())):
                        bounds[bound] = getattr(meta, bound)
        out[name] = (kind, field.is_required(), nullable, tuple(sorted(bounds.items())))
    return out


@pytest.mark.parametrize(
    ("documented", "contract"),
    [
        (schemas.ReadingIn, events.Reading),
        (schemas.Alert, events.Alert),
    ],
    ids=["reading", "alert"],
)
def test_documented_model_states_the_contract_field_by_field(
    documented: type[BaseModel], contract: type[msgspec.Struct]
) -> None:
    want = contract_fields(contract)
    have = documented_fields(documented)
    assert set(have) == set(want), "the documented model and the contract name other fields"
    differ = {
        name: {"api": have[name], "contract": want[name]}
        for name in want
        if have[name] != want[name]
    }
    assert not differ, f"fields documented otherwise than the contract decodes them: {differ}"


def test_archived_reading_documents_every_contract_field() -> None:
    assert set(events.Reading.__struct_fields__) <= set(schemas.ArchivedReading.model_fields)


def test_the_comparison_sees_a_changed_bound() -> None:
    """A bound documented otherwise than the contract is caught (the check itself works)."""

    class Looser(schemas.ReadingIn):
        temp: float = 0.0

    want = contract_fields(events.Reading)
    have = documented_fields(Looser)
    assert have["temp"] != want["temp"]
    assert have["truck_id"] == want["truck_id"]
