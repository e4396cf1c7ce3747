"""Webhooks: a JSON POST signed with HMAC-SHA256, with an ``Idempotency-Key`` header.

Receivers check ``X-LogiStream-Signature: sha256=<hex>`` over ``"<timestamp>." + body``, with
the timestamp from ``X-LogiStream-Timestamp`` (refuse old ones to stop replays), and drop a
repeated ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from logistream.notify.channels.base import SendError, http_retryable
from logistream.notify.log_store import Pending


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


class WebhookChannel:
    name = "webhook"

    def __init__(self, secret: str | None, timeout_s: float) -> None:
        self._secret = secret.encode() if secret else None
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def send(self, item: Pending) -> str | None:
        if self._secret is None:
            raise SendError(
                "webhooks need a signing key: set LOGISTREAM_NOTIFY_WEBHOOK_SECRET",
                permanent=True,
            )
        body = body_bytes(item.payload)
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "LogiStream-Notify/1",
            "Idempotency-Key": item.key,
            "X-LogiStream-Timestamp": ts,
            "X-LogiStream-Signature": signature(self._secret, ts, body),
        }
        host = httpx.URL(item.address).host
        try:
            response = self._client.post(item.address, content=body, headers=headers)
        except httpx.TimeoutException:
            raise SendError(f"webhook {host} did not answer in time") from None
        except httpx.HTTPError as error:
            raise SendError(f"webhook {host} unreachable ({type(error).__name__})") from None
        if response.is_success:
            return f"HTTP {response.status_code}"
        raise SendError(
            f"webhook {host} answered HTTP {response.status_code}"
            + ("" if http_retryable(response.status_code) else "; check the URL and the receiver"),
            permanent=not http_retryable(response.status_code),
        )

    def close(self) -> None:
        self._client.close()
