"""API tokens and scopes (pure): format, hashing, the Authorization header, scope checks.

A token is ``lsapi_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored:
with that much entropy a fast hash is safe (nothing to brute-force), unlike a password, and
lets every request be checked with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal, get_args

Scope = Literal["read", "ack", "ingest", "shipments"]
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)
TOKEN_PREFIX: Final = "lsapi_"  # noqa: S105 - a prefix, not a secret
_TOKEN_RE: Final = re.compile(r"^lsapi_[A-Za-z0-9_-]{43}$")
NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token belongs to: ``name`` is the actor recorded on acknowledgements."""

    name: str
    scopes: frozenset[str]
    organisation: str | None = None
    """The organisation it acts for (a shipment's receiver signs PoDs); None: the operator."""


@dataclass(frozen=True, slots=True)
class AuthProblem:
    """Why a request is refused: ``status`` 401 (who are you?) or 403 (not allowed)."""

    status: int
    code: str
    detail: str
    missing_scope: str | None = None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(
            f"token name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting "
            "with a letter or digit (it is recorded as the actor of acknowledgements)"
        )
    return name


def check_scopes(scopes: list[str]) -> frozenset[str]:
    wrong = [s for s in scopes if s not in SCOPES]
    if wrong or not scopes:
        raise ValueError(
            f"--scope {', '.join(wrong) or '(none)'}: give one or more of {', '.join(SCOPES)}"
        )
    return frozenset(scopes)


def check_organisation(organisation: str | None) -> str | None:
    """An organisation id as shipment files name them (``receiver.id``), or None."""
    if organisation is not None and not NAME_RE.match(organisation):
        raise ValueError(
            f"--organisation {organisation!r}: use the organisation's id as shipment files name "
            "it (receiver.id): 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    return organisation


def bearer_token(header: str | None) -> str | AuthProblem:
    """The token of an ``Authorization: Bearer ...`` header, or why there is none."""
    if not header:
        return AuthProblem(
            401,
            "token_missing",
            "No API token: send the header 'Authorization: Bearer <token>'; create a token "
            "with `logistream api token create NAME --scope read`.",
        )
    kind, _, value = header.strip().partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        return AuthProblem(
            401,
            "token_malformed",
            "The Authorization header must be 'Bearer <token>'.",
        )
    token = value.strip()
    if not _TOKEN_RE.match(token):
        return AuthProblem(
            401,
            "token_invalid",
            "This is not a LogiStream API token (they start with 'lsapi_'); check for a "
            "truncated copy.",
        )
    return token


def unknown_token() -> AuthProblem:
    return AuthProblem(
        401,
        "token_invalid",
        "Unknown API token: it was never issued here, or was mistyped; ask for a new one "
        "(`logistream api token create`).",
    )


def revoked_token(name: str) -> AuthProblem:
    return AuthProblem(
        401,
        "token_revoked",
        f"The API token {name!r} was revoked; ask an administrator for a new one.",
    )


def scope_problem(principal: Principal, needed: Scope) -> AuthProblem | None:
    """None when ``principal`` may do what ``needed`` allows."""
    if needed in principal.scopes:
        return None
    have = ", ".join(sorted(principal.scopes)) or "none"
    return AuthProblem(
        403,
        "scope_missing",
        f"The token {principal.name!r} has scope(s) {have} and this needs '{needed}'; create "
        f"a token with `logistream api token create NAME --scope {needed}`.",
        missing_scope=needed,
    )
