"""Signed, expiring ack-link tokens: the notifier makes them, the API's ack pages read them.

Layer-free, since both sides must agree on the format and the key. The token maths is pure;
:func:`ack_secret` alone reads the key (its variable, else the stack's secrets file).

A token is ``base64url(version | alert id | expiry | recipient name | MAC)``: the alert's UUID in
16 bytes, the expiry in 4, the name in at most 40, and a 96-bit truncated HMAC-SHA256 — about 60
characters, so the link still fits an SMS. Nothing but the holder of the key can make one, and
the name inside is who the acknowledgement is recorded for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from logistream.config import read_secrets
from logistream.errors import ConfigError, Refused

if TYPE_CHECKING:
    from logistream.config import Settings

ACK_KEY_VARIABLE: Final = "LOGISTREAM_NOTIFY_ACK_SECRET"
"""The variable that holds the signing key, the same for the notifier and the API."""
ACK_KEY_SECRET: Final = "notify_ack_secret"  # noqa: S105 (a key name, not a key)
"""Its name in the stack's secrets file, used when the variable is unset."""
VERSION: Final = 1
MAC_BYTES: Final = 12
MAX_NAME_BYTES: Final = 40
_KIND_UUID: Final = 0
_KIND_TEXT: Final = 1
_DAMAGED: Final = "This link is damaged; open the alert in the control room."


class LinkError(Refused):
    """A link token that must be refused. ``reason``: ``malformed``, ``forged`` or ``expired``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message, field="token")


@dataclass(frozen=True, slots=True)
class LinkClaims:
    alert_id: str
    name: str
    expires_at: int


def _key(secret: bytes) -> bytes:
    # A key of its own, so the same secret can never sign anything else by accident.
    return hmac.new(secret, b"logistream ack link v1", hashlib.sha256).digest()


def b64url(raw: bytes) -> str:
    """URL-safe base64 without padding (tokens travel in URLs and cookies)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of :func:`b64url` text (padding restored)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _clip_utf8(text: str, limit: int) -> bytes:
    raw = text.encode()
    while len(raw) > limit:
        text = text[:-1]
        raw = text.encode()
    return raw


def make_token(secret: bytes, alert_id: str, name: str, expires_at: float) -> str:
    try:
        body = bytes([VERSION, _KIND_UUID]) + uuid.UUID(alert_id).bytes
    except ValueError:
        raw_id = alert_id.encode()
        if len(raw_id) > 255:
            raise ValueError("alert id longer than 255 bytes") from None
        body = bytes([VERSION, _KIND_TEXT, len(raw_id)]) + raw_id
    body += struct.pack(">I", int(expires_at)) + _clip_utf8(name, MAX_NAME_BYTES)
    mac = hmac.new(_key(secret), body, hashlib.sha256).digest()[:MAC_BYTES]
    return b64url(body + mac)


def read_token(secret: bytes, token: str, now: float) -> LinkClaims:
    """The claims of a genuine, unexpired token; otherwise :class:`LinkError`."""
    try:
        raw = unb64url(token)
    except (ValueError, TypeError):
        raise LinkError("malformed", _DAMAGED) from None
    if len(raw) < 2 + 4 + MAC_BYTES or raw[0] != VERSION:
        raise LinkError("malformed", _DAMAGED)
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    expected = hmac.new(_key(secret), body, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise LinkError("forged", "This link is not genuine; nothing was acknowledged.")
    try:
        if body[1] == _KIND_UUID:
            alert_id, rest = str(uuid.UUID(bytes=body[2:18])), body[18:]
        else:
            size = body[2]
            alert_id, rest = body[3 : 3 + size].decode(), body[3 + size :]
        (expires_at,) = struct.unpack(">I", rest[:4])
        name = rest[4:].decode()
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        raise LinkError("malformed", _DAMAGED) from None
    if now >= expires_at:
        raise LinkError(
            "expired",
            "This link has expired; acknowledge the alert in the control room or with "
            "`logistream alerts ack`.",
        )
    return LinkClaims(alert_id=alert_id, name=name, expires_at=expires_at)


def ack_secret(settings: Settings, explicit: str | None = None) -> bytes:
    """The key that signs ack links; refuses to run without one (links must not be forgeable).

    ``explicit`` (the notifier's option) wins, then the variable, then the secrets file.
    """
    value = (
        explicit or os.environ.get(ACK_KEY_VARIABLE) or read_secrets(settings).get(ACK_KEY_SECRET)
    )
    if not value or len(value) < 16:
        raise ConfigError(
            f"{ACK_KEY_VARIABLE}: not set (or shorter than 16 characters) and no "
            f"'{ACK_KEY_SECRET}' in {settings.secrets_file}; set it to a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, the same for the "
            "notifier and the API"
        )
    return value.encode()
