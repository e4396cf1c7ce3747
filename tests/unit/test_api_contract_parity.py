"""The API's documented models must say exactly what the wire contract (events.py) says.

FastAPI documents pydantic models while the pipeline decodes with msgspec; these tests keep the
two descriptions of one contract from drifting apart.
"""

from __future__ import annotations

from logistream import events
from logistream.api import schemas


def test_documented_reading_has_every_contract_field() -> None:
    assert set(schemas.ReadingIn.model_fields) == set(events.Reading.__struct_fields__)
    assert set(events.Reading.__struct_fields__) <= set(schemas.ArchivedReading.model_fields)


def test_documented_alert_is_the_alert_on_truck_alerts() -> None:
    assert set(schemas.Alert.model_fields) == set(events.Alert.__struct_fields__)
