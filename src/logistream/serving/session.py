"""Dashboard sessions that survive a reload: a signed, expiring token the browser keeps.

A reload opens a new Streamlit session, which starts with an empty ``st.session_state``; the
browser's cookie is what carries the sign-in across. The token in it is
``base64url(claims JSON) "." base64url(HMAC-SHA256)`` with the user's name, a random session id
and the expiry: never the password nor its hash, and nothing only the server's key can make.
Signing out records the session id as ended (until its expiry) in a small file in the stack
home, so a copy of the cookie stops working too.

The token maths is pure; :func:`session_secret`, :func:`session_lifetime_s` and
:class:`EndedSessions` read the environment and the stack home.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Final

from logistream.config import read_secrets
from logistream.errors import ConfigError, Refused
from logistream.link_tokens import b64url, unb64url

if TYPE_CHECKING:
    from logistream.config import Settings

COOKIE: Final = "logistream_session"
"""The cookie's name in the browser."""
SECRET_VARIABLE: Final = "LOGISTREAM_DASHBOARD_SESSION_SECRET"  # noqa: S105 (a variable name)
SECRET_NAME: Final = "dashboard_session_secret"  # noqa: S105 (a key name, not a key)
"""Its name in the stack's secrets file (and of the key file made when neither names one)."""
LIFETIME_VARIABLE: Final = "LOGISTREAM_DASHBOARD_SESSION_HOURS"
DEFAULT_LIFETIME_H: Final = 12.0
ENDED_FILE: Final = "dashboard_signouts.json"
VERSION: Final = 1
_MIN_SECRET: Final = 16


class SessionError(Refused):
    """A token that must not sign anyone in. ``reason``: ``malformed``, ``forged``, ``expired``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail, field="session")


@dataclass(frozen=True, slots=True)
class SessionClaims:
    name: str
    session_id: str
    expires_at: int


def _key(secret: bytes) -> bytes:
    # A key of its own, so the same secret can never sign anything else by accident.
    return hmac.new(secret, b"logistream dashboard session v1", hashlib.sha256).digest()


def _mac(secret: bytes, body: str) -> str:
    return b64url(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())


def make_token(
    secret: bytes, name: str, expires_at: float, session_id: str | None = None
) -> tuple[str, SessionClaims]:
    """A new session for ``name`` ending at ``expires_at`` (epoch seconds), and its claims."""
    claims = SessionClaims(
        name=name,
        session_id=session_id or secrets.token_urlsafe(16),
        expires_at=int(expires_at),
    )
    payload = {"v": VERSION, "name": name, "sid": claims.session_id, "exp": claims.expires_at}
    body = b64url(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, body)}", claims


def read_token(secret: bytes, token: str, now: float) -> SessionClaims:
    """The claims of a genuine, unexpired token; otherwise :class:`SessionError`."""
    body, dot, mac = token.partition(".")
    if not dot or not body or not mac:
        raise SessionError("malformed", "the session token is damaged")
    if not hmac.compare_digest(mac.encode(), _mac(secret, body).encode()):
        raise SessionError("forged", "the session token was not made by this dashboard")
    try:
        payload = json.loads(unb64url(body))
        claims = SessionClaims(
            name=str(payload["name"]),
            session_id=str(payload["sid"]),
            expires_at=int(payload["exp"]),
        )
        version = payload["v"]
    except (ValueError, TypeError, KeyError):
        raise SessionError("malformed", "the session token is damaged") from None
    if version != VERSION:
        raise SessionError("malformed", "the session token is of another version")
    if now >= claims.expires_at:
        raise SessionError("expired", "the session has expired; sign in again")
    return claims


def set_cookie_script(token: str, expires_at: float) -> str:
    """The script that keeps ``token`` in the browser until ``expires_at`` (strict same-site).

    An absolute expiry, not a Max-Age, so the script is the same on every run of a session and
    Streamlit does not redraw it.
    """
    when = formatdate(max(0.0, expires_at), usegmt=True)
    value = json.dumps(f"{COOKIE}={token}; Path=/; Expires={when}; SameSite=Strict")
    # Secure when served over HTTPS, so the token never travels in clear text from then on.
    return (
        "<script>document.cookie = "
        f"{value} + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def clear_cookie_script() -> str:
    """The script that removes the session cookie from the browser."""
    return set_cookie_script("", 0.0)


def session_lifetime_s() -> float:
    """How long a sign-in lasts: ``LOGISTREAM_DASHBOARD_SESSION_HOURS`` (default 12 h)."""
    raw = os.environ.get(LIFETIME_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_LIFETIME_H * 3600
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 24 * 365:
        raise ConfigError(
            f"{LIFETIME_VARIABLE}: expected a number of hours above 0 (got {raw!r}), e.g. 12"
        )
    return hours * 3600


def session_secret(settings: Settings) -> bytes:
    """The key that signs sessions: the variable, else the secrets file, else a key file.

    The key file (mode 0600, in the stack home) is made once, so sessions survive a restart of
    the dashboard without anyone having to set a key.
    """
    value = os.environ.get(SECRET_VARIABLE) or read_secrets(settings).get(SECRET_NAME)
    if value:
        if len(value) < _MIN_SECRET:
            raise ConfigError(
                f"{SECRET_VARIABLE}: shorter than {_MIN_SECRET} characters; set it to a long "
                "random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value.encode()
    path = settings.home / SECRET_NAME
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    key = path.read_text().strip()
    if len(key) < _MIN_SECRET:
        raise ConfigError(f"{path}: the dashboard's session key is damaged; delete the file")
    return key.encode()


class EndedSessions:
    """Session ids signed out before their expiry, kept in a JSON file until they expire."""

    _lock = threading.Lock()  # the dashboard's sessions run in threads of one process

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of(cls, settings: Settings) -> EndedSessions:
        return cls(settings.home / ENDED_FILE)

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a damaged file ends nothing; rewritten at the next sign-out
        if not isinstance(data, dict):
            return {}
        return {str(k): int(v) for k, v in data.items() if isinstance(v, (int, float))}

    def end(self, claims: SessionClaims, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            ended = {sid: exp for sid, exp in self._read().items() if exp > now}
            ended[claims.session_id] = claims.expires_at
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(ended, handle)
            os.replace(partial, self.path)

    def is_ended(self, claims: SessionClaims) -> bool:
        with self._lock:
            return claims.session_id in self._read()
