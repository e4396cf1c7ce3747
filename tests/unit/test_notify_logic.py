"""Pure pieces of the notifier: link tokens, idempotency keys, messages, watchdog, backoff."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pytest

from logistream.events import Alert
from logistream.link_tokens import LinkError, make_token, read_token
from logistream.notify.channels.base import backoff_s, http_retryable
from logistream.notify.channels.webhook import body_bytes, signature
from logistream.notify.channels.worker import superseded
from logistream.notify.log_store import Pending
from logistream.notify.messages import idempotency_key, place, render_alert, render_watchdog
from logistream.notify.routing import Person, Target
from logistream.notify.sms_text import is_gsm7
from logistream.notify.watchdog import Known, assess, transition
from logistream.registry import load_registry

SECRET = b"k" * 32
ALERT_ID = str(uuid.uuid4())
ZONE = ZoneInfo("Africa/Nairobi")


def test_a_token_carries_alert_and_name_and_is_short_enough_for_an_sms() -> None:
    token = make_token(SECRET, ALERT_ID, "Amina Otieno", 2_000_000_000)
    claims = read_token(SECRET, token, 1_900_000_000)
    assert (claims.alert_id, claims.name, claims.expires_at) == (ALERT_ID, "Amina Otieno",
                                                                  2_000_000_000)  # fmt: skip
    assert len(token) <= 64
    assert read_token(SECRET, make_token(SECRET, "not-a-uuid", "Ü" * 50, 10), 5).name == "Ü" * 20


@pytest.mark.parametrize("reason", ["expired", "forged", "tampered", "malformed"])
def test_expired_forged_tampered_and_damaged_tokens_are_refused(reason: str) -> None:
    token = make_token(SECRET, ALERT_ID, "Amina", 1000)
    now = 999.0
    if reason == "expired":
        now = 1000.0
    elif reason == "forged":
        token = make_token(b"x" * 32, ALERT_ID, "Amina", 1000)
    elif reason == "tampered":
        token = make_token(SECRET, ALERT_ID, "Amina", 1000)[:-20] + make_token(
            SECRET, ALERT_ID, "Mallory", 1000)[-20:]  # fmt: skip
    else:
        token = "%%%"
    with pytest.raises(LinkError) as caught:
        read_token(SECRET, token, now)
    assert caught.value.reason == {"tampered": "forged"}.get(reason, reason)


def test_idempotency_keys_are_stable_and_distinct_per_state_recipient_channel_level() -> None:
    base = idempotency_key("a", "open", "amina", "sms", 0)
    assert base == idempotency_key("a", "open", "amina", "sms", 0)
    others = {idempotency_key("a", "acknowledged", "amina", "sms", 0),
              idempotency_key("a", "open", "kiprop", "sms", 0),
              idempotency_key("a", "open", "amina", "email", 0),
              idempotency_key("a", "open", "amina", "sms", 1)}  # fmt: skip
    assert base not in others
    assert len(others) == 4


def _alert(**kw: object) -> Alert:
    fields: dict[str, object] = dict(
        alert_id=ALERT_ID, truck_id="KCK 293K", rule="temp_critical", severity="critical",
        state="open", opened_at=1_700_000_000.0, changed_at=1_700_000_000.0,
        message="KCK 293K (vaccines) passed 12 °C near Voi — 13.2 °C", cargo="vaccines",
        value=13.24, threshold=12.0, lat=-3.39, lon=38.55,
    )  # fmt: skip
    fields.update(kw)
    return Alert(**fields)  # type: ignore[arg-type]


def test_an_alert_renders_to_sms_email_and_webhook_with_the_same_key() -> None:
    person = Person("amina", "Amina", email="a@x", sms="+254700000001", webhook="http://h")
    registry = load_registry()
    where = place(-3.39, 38.55, registry.routes["mombasa_nairobi"].waypoints)
    assert where == "near Voi"
    link = "https://ls.example/ack/TOKEN"
    sms = render_alert(_alert(), Target(person, "sms", "+254700000001", 0), kind="alert",
                       where=where, cargo_label="Vaccines", link=link, zone=ZONE)  # fmt: skip
    assert sms.body == f"CRITICAL KCK 293K 13.2C Vaccines near Voi Ack: {link}"
    mail = render_alert(_alert(), Target(person, "email", "a@x", 0), kind="alert", where=where,
                        cargo_label="Vaccines", link=link, zone=ZONE)  # fmt: skip
    assert link in mail.body
    assert "Vaccines" in mail.subject
    assert sms.key != mail.key
    assert sms.key == idempotency_key(ALERT_ID, "open", "amina", "sms", 0)
    acked = render_alert(_alert(state="acknowledged", acknowledged_by="Kiprop"),
                         Target(person, "webhook", "http://h", 0), kind="alert", where=where,
                         cargo_label=None, link=None, zone=ZONE)  # fmt: skip
    assert acked.payload["ack_url"] is None
    assert acked.payload["alert"]["acknowledged_by"] == "Kiprop"
    esc = render_alert(_alert(), Target(person, "sms", "+2547", 2), kind="escalation", where=where,
                       cargo_label="Vaccines", link=link, zone=ZONE, unacked_min=31)  # fmt: skip
    assert esc.body.startswith("UNACKED L2 CRITICAL KCK 293K")
    assert esc.level == 2
    wd = render_watchdog("speed", True, 1_700_000_000, "no heartbeat",
                         Target(person, "sms", "+2547", 0), ZONE)  # fmt: skip
    assert is_gsm7(wd.body)
    assert len(wd.body) <= 160
    assert "STALLED" in wd.body


def test_watchdog_reports_each_stall_once_and_each_recovery_once() -> None:
    assert assess("speed", None, 30).stalled
    assert assess("speed", 31, 30).stalled
    assert not assess("speed", 5, 30).stalled
    assert transition(None, assess("speed", None, 30))
    assert not transition(None, assess("speed", 1, 30))  # all fine at start is not news
    assert not transition(Known(True, 1.0), assess("speed", 99, 30))
    assert transition(Known(True, 1.0), assess("speed", 1, 30))
    assert not transition(Known(False, 1.0), assess("speed", 1, 30))


def test_backoff_grows_is_capped_and_jittered_deterministically() -> None:
    delays = [backoff_s(a, 2.0, 60.0, "k") for a in range(1, 9)]
    assert delays == [backoff_s(a, 2.0, 60.0, "k") for a in range(1, 9)]
    assert 2.0 <= delays[0] <= 2.5
    assert 4.0 <= delays[1] <= 5.0
    assert all(d <= 75.0 for d in delays)
    assert delays[-1] >= 60.0
    assert http_retryable(503)
    assert http_retryable(429)
    assert not http_retryable(404)


def test_webhook_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    import hashlib
    import hmac

    body = body_bytes({"b": 1, "a": [1, 2]})
    assert body == b'{"a":[1,2],"b":1}'
    expected = hmac.new(b"s", b"123." + body, hashlib.sha256).hexdigest()
    assert signature(b"s", "123", body) == f"sha256={expected}"


def test_a_held_or_escalation_message_is_dropped_once_its_alert_moved_on() -> None:
    def pending(kind: str, held: bool, now: str | None) -> Pending:
        return Pending(1, "k", kind, "a", "open", "sms", "+2547", "s", "b", {}, 0, held, now)

    assert superseded(pending("alert", True, "acknowledged")) is not None
    assert superseded(pending("escalation", False, "resolved")) is not None
    assert superseded(pending("alert", False, "acknowledged")) is None
    assert superseded(pending("alert", True, "open")) is None
    assert superseded(pending("watchdog", True, None)) is None
