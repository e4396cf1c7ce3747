"""Passwords and roles (pure): scrypt hashes with a random salt, and who may do what.

Roles: ``viewer`` (reads), ``dispatcher`` (acknowledges, sets modes, creates shipments),
``admin`` (everything, manages users) and ``quality_manager`` (issue 18: reads what a viewer
reads plus the audit trail and the reports; acknowledges nothing, sets no mode, manages no user).
What a role may do is also bounded by the account's organisation: ``serving.tenancy_data``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final, Literal, get_args

from logistream.errors import Refused

Role = Literal["viewer", "dispatcher", "admin", "quality_manager"]
ROLES: Final[tuple[str, ...]] = get_args(Role)

# scrypt parameters (RFC 7914): n=2**14, r=8, p=1 takes ~50 ms and 16 MB: fine for sign-in.
_N: Final = 2**14
_R: Final = 8
_P: Final = 1
_DKLEN: Final = 32
_SCHEME: Final = "scrypt"
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LEN: Final = 8
ORGANISATION_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
"""An organisation id as shipment files name them (shipper.id / receiver.id)."""


class AuthError(Refused):
    """A user name, role or password is not acceptable; the message says what to change."""

    def __init__(self, detail: str) -> None:
        super().__init__("user_refused", detail)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64): everything needed to verify, nothing to reverse."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise AuthError(
            f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting "
            "with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AuthError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise AuthError(f"the password needs at least {MIN_PASSWORD_LEN} characters")
    return password


def can_acknowledge(role: str) -> bool:
    return role in ("dispatcher", "admin")


def can_manage_users(role: str) -> bool:
    return role == "admin"
