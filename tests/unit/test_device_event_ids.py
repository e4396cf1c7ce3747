"""Gateway event ids: the fast uuid5 gives exactly ``uuid.uuid5``'s ids, so the ids of readings
already archived never change."""

from __future__ import annotations

import hashlib
import uuid

from hypothesis import given
from hypothesis import strategies as st

from logistream.events import EVENT_ID_NAMESPACE
from logistream.ingest.device_event_ids import device_event_id, uuid5_text

DEVICE_NAMESPACE = uuid.uuid5(EVENT_ID_NAMESPACE, "device-gateway")


def _reference(device_id: str, probe_id: str | None, device_time: str) -> str:
    """How the ids were made before (and what archived rows hold)."""
    return str(uuid.uuid5(DEVICE_NAMESPACE, f"{device_id}|{probe_id or ''}|{device_time}"))


def test_known_ids_stay_as_archived() -> None:
    # What the earlier implementation (str(uuid.uuid5(...))) gave, pinned.
    assert device_event_id("tu-kcb781c", "front", "1760000000") == (
        "555eeb88-3267-5a7c-8d0c-4a42b3eee1ac"
    )
    assert device_event_id("tu-kcf337f", None, "1760000000.5") == (
        "3d33f01e-0495-54ed-a046-4f945a5bdf2f"
    )


@given(st.text(), st.one_of(st.none(), st.text()), st.text())
def test_every_id_is_uuid5_of_device_probe_and_time(
    device_id: str, probe_id: str | None, device_time: str
) -> None:
    assert device_event_id(device_id, probe_id, device_time) == _reference(
        device_id, probe_id, device_time
    )


@given(st.uuids(), st.text())
def test_uuid5_text_is_uuid5_for_any_namespace(namespace: uuid.UUID, name: str) -> None:
    sha = hashlib.sha1(namespace.bytes, usedforsecurity=False)
    assert uuid5_text(sha, name) == str(uuid.uuid5(namespace, name))
    assert uuid5_text(sha, name) == str(uuid.uuid5(namespace, name))  # the hash is not consumed
