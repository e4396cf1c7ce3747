"""Dashboard session tokens (pure): genuine ones sign in until they expire; nothing else does."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from logistream.config import Settings
from logistream.errors import ConfigError
from logistream.serving import session
from logistream.serving.session import EndedSessions, SessionError, make_token, read_token

SECRET = b"a-dashboard-session-key-for-tests"
NOW = 1_800_000_000.0


def _reason(secret: bytes, token: str, now: float = NOW) -> str:
    with pytest.raises(SessionError) as caught:
        read_token(secret, token, now)
    return caught.value.reason


def test_a_genuine_token_names_its_user_until_it_expires() -> None:
    token, claims = make_token(SECRET, "dan", NOW + 12 * 3600)
    assert read_token(SECRET, token, NOW) == claims
    assert (claims.name, claims.expires_at) == ("dan", int(NOW + 12 * 3600))
    assert read_token(SECRET, token, NOW + 12 * 3600 - 1).name == "dan"
    assert _reason(SECRET, token, NOW + 12 * 3600) == "expired"


def test_each_sign_in_is_a_session_of_its_own() -> None:
    first, a = make_token(SECRET, "dan", NOW + 60)
    second, b = make_token(SECRET, "dan", NOW + 60)
    assert first != second
    assert a.session_id != b.session_id


def test_a_token_holds_no_password_and_only_what_it_claims() -> None:
    token, _ = make_token(SECRET, "dan", NOW + 60, session_id="s1")
    body = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert body == {"v": 1, "name": "dan", "sid": "s1", "exp": int(NOW + 60)}


def test_forged_tokens_are_refused() -> None:
    token, _ = make_token(SECRET, "dan", NOW + 60)
    # Another key's token.
    assert _reason(b"another-key-another-key", token) == "forged"
    # A claim changed (an admin's name, a later expiry) under the original signature.
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    for change in ({"name": "ann"}, {"exp": int(NOW + 10**6)}):
        forged = base64.urlsafe_b64encode(json.dumps({**payload, **change}).encode()).decode()
        assert _reason(SECRET, f"{forged.rstrip('=')}.{mac}") == "forged"
    # A signature made up, or cut short.
    assert _reason(SECRET, f"{body}.{'A' * len(mac)}") == "forged"
    assert _reason(SECRET, f"{body}.{mac[:-2]}") == "forged"


@pytest.mark.parametrize("token", ["", "no-dot", ".", "abc.", ".abc"])
def test_damaged_tokens_are_refused(token: str) -> None:
    assert _reason(SECRET, token) == "malformed"


def test_a_signed_token_of_another_version_is_refused() -> None:
    body = base64.urlsafe_b64encode(
        json.dumps({"v": 2, "name": "dan", "sid": "s", "exp": int(NOW + 60)}).encode()
    ).decode()
    mac = session._mac(SECRET, body)
    assert _reason(SECRET, f"{body}.{mac}") == "malformed"


def test_the_cookie_scripts_set_and_clear_the_session_cookie() -> None:
    token, _ = make_token(SECRET, "dan", NOW + 60)
    script = session.set_cookie_script(token, NOW + 60)
    expires = "Expires=Fri, 15 Jan 2027 08:01:00 GMT"
    assert f"logistream_session={token}; Path=/; {expires}; SameSite=Strict" in script
    assert script == session.set_cookie_script(token, NOW + 60)  # the same on every run
    assert "logistream_session=; Path=/; Expires=Thu, 01 Jan 1970" in session.clear_cookie_script()


def test_the_lifetime_is_12_hours_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(session.LIFETIME_VARIABLE, raising=False)
    assert session.session_lifetime_s() == 12 * 3600
    monkeypatch.setenv(session.LIFETIME_VARIABLE, "0.5")
    assert session.session_lifetime_s() == 1800
    for wrong in ("0", "-3", "soon"):
        monkeypatch.setenv(session.LIFETIME_VARIABLE, wrong)
        with pytest.raises(ConfigError, match=session.LIFETIME_VARIABLE):
            session.session_lifetime_s()


def test_the_key_is_made_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(session.SECRET_VARIABLE, raising=False)
    settings = Settings(home=tmp_path / "home")
    key = session.session_secret(settings)
    assert len(key) >= 32
    assert session.session_secret(settings) == key  # a restarted dashboard keeps its sessions
    path = tmp_path / "home" / session.SECRET_NAME
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    monkeypatch.setenv(session.SECRET_VARIABLE, "short")
    with pytest.raises(ConfigError, match=session.SECRET_VARIABLE):
        session.session_secret(settings)
    monkeypatch.setenv(session.SECRET_VARIABLE, "x" * 32)
    assert session.session_secret(settings) == b"x" * 32


def test_the_secrets_file_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(session.SECRET_VARIABLE, raising=False)
    settings = Settings(home=tmp_path)
    settings.secrets_file.write_text(json.dumps({session.SECRET_NAME: "k" * 40}))
    assert session.session_secret(settings) == b"k" * 40


def test_a_signed_out_session_stays_ended_until_it_expires(tmp_path: Path) -> None:
    ended = EndedSessions(tmp_path / "signouts.json")
    _, gone = make_token(SECRET, "dan", NOW + 60)
    _, kept = make_token(SECRET, "dan", NOW + 60)
    assert not ended.is_ended(gone)
    ended.end(gone, now=NOW)
    assert ended.is_ended(gone)
    assert not ended.is_ended(kept)
    # Read back by another dashboard process (a restart): still ended.
    assert EndedSessions(tmp_path / "signouts.json").is_ended(gone)
    # Ended sessions are forgotten once they would have expired anyway.
    _, later = make_token(SECRET, "ann", NOW + 7200)
    ended.end(later, now=NOW + 120)
    assert not ended.is_ended(gone)
    assert ended.is_ended(later)
    assert stat.S_IMODE(os.stat(tmp_path / "signouts.json").st_mode) == 0o600
