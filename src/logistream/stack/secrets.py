"""The local stack's generated passwords: created once, kept in a mode-0600 file in its home."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable

from logistream.config import Settings, read_secrets

SECRET_NAMES = (
    "postgres_password",
    "redis_password",
    "bridge_db_password",
    "reader_db_password",
    "demo_password",
    "notify_ack_secret",
)


def ensure_secrets(settings: Settings, extra: Iterable[str] = ()) -> dict[str, str]:
    """The stack's passwords, generating the missing ones; only the owner may read the file.

    ``extra`` names more passwords to keep (the secure stack's per-service ones).
    """
    current = read_secrets(settings)
    missing = [name for name in (*SECRET_NAMES, *extra) if not current.get(name)]
    if missing:
        for name in missing:
            current[name] = secrets.token_urlsafe(24)
        settings.home.mkdir(parents=True, exist_ok=True)
        path = settings.secrets_file
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(current, handle, indent=2)
        os.chmod(path, 0o600)
    return current
