"""Kafka cluster ids the stack generates are always accepted by StorageTool's parser."""

from __future__ import annotations

import base64
import uuid

import pytest

from logistream.stack import kafka_server


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first uuid encodes to "-…" (0xf8 as the first byte), the second does not.
    dashed = uuid.UUID(bytes=b"\xf8" + b"\x00" * 15)
    plain = uuid.UUID(bytes=b"\x00" * 16)
    assert base64.urlsafe_b64encode(dashed.bytes).decode().startswith("-")
    drawn = iter([dashed, plain])
    monkeypatch.setattr(kafka_server.uuid, "uuid4", lambda: next(drawn))
    cluster_id = kafka_server.new_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).decode().rstrip("=")
    assert len(cluster_id) == 22
