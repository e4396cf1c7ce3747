"""The integration API's pure logic: tokens and scopes, rate and size limits, paging cursors,
filters, ingest validation (the pipeline's reason codes, with the field), pipeline health and
the live stream's framing. No servers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.helpers import seeded_random

from logistream.api.filters import AlertFilter, TripFilter, history_where, matches, trips_where
from logistream.api.ingest import BodyRefused, split_body, summary, validate
from logistream.api.limits import BodySizeLimit, RateLimiter, TokenBucket
from logistream.api.paging import BadCursor, decode_cursor, encode_cursor, split_page
from logistream.api.pipeline import bridge_state, speed_state
from logistream.api.streaming import changed_trucks, sse
from logistream.api.token_store import TokenCache
from logistream.api.tokens import (
    AuthProblem,
    Principal,
    bearer_token,
    check_name,
    check_scopes,
    hash_token,
    new_token,
    scope_problem,
)
from logistream.events import Alert
from logistream.live_views import Heartbeat, HeartbeatRecord
from logistream.reads.heartbeats import BridgeBeat

NOW = 1_750_000_000.0


# --- tokens ---------------------------------------------------------------------------------


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    a, b = new_token(), new_token()
    assert a != b
    assert a.startswith("lsapi_")
    assert len(a) == 49
    assert hash_token(a) == hash_token(a) != hash_token(b)
    assert len(hash_token(a)) == 64
    assert a not in hash_token(a)


def test_bearer_header_parsing_says_what_is_missing() -> None:
    token = new_token()
    assert bearer_token(f"Bearer {token}") == token
    assert bearer_token(f"bearer   {token} ") == token
    cases = {None: "token_missing", "": "token_missing", f"Basic {token}": "token_malformed",
             "Bearer": "token_malformed", "Bearer abc": "token_invalid"}  # fmt: skip
    for header, code in cases.items():
        problem = bearer_token(header)
        assert isinstance(problem, AuthProblem)
        assert (problem.status, problem.code) == (401, code)


def test_scopes_are_checked_and_the_refusal_names_the_missing_one() -> None:
    who = Principal("erp", frozenset({"read"}))
    assert scope_problem(who, "read") is None
    problem = scope_problem(who, "ack")
    assert problem is not None
    assert (problem.status, problem.code, problem.missing_scope) == (403, "scope_missing", "ack")
    assert "--scope ack" in problem.detail
    assert check_scopes(["read", "ack"]) == frozenset({"read", "ack"})
    with pytest.raises(ValueError, match="read, ack, ingest"):
        check_scopes(["admin"])
    with pytest.raises(ValueError, match="read, ack, ingest"):
        check_scopes([])
    assert check_name("erp.qa@site-1") == "erp.qa@site-1"
    with pytest.raises(ValueError, match="token name"):
        check_name("-bad name")


def test_token_cache_trusts_answers_briefly_and_forgets_unknown_ones_fast() -> None:
    clock = [0.0]
    answers: dict[str, tuple[str, list[str], bool] | None] = {}
    calls: list[str] = []
    token = new_token()

    def lookup(digest: str) -> tuple[str, list[str], bool] | None:
        calls.append(digest)
        return answers.get(digest)

    cache = TokenCache(lookup, ttl_s=5.0, clock=lambda: clock[0])
    assert isinstance(cache.resolve(token), AuthProblem)  # unknown
    answers[hash_token(token)] = ("tms", ["read"], False)
    clock[0] = 0.5
    assert isinstance(cache.resolve(token), AuthProblem)  # negative answer kept 1 s
    clock[0] = 1.5
    # A token of no organisation acts for the carrier (token_store: one convention).
    assert cache.resolve(token) == Principal("tms", frozenset({"read"}), "carrier")
    answers[hash_token(token)] = ("tms", ["read"], True)  # revoked meanwhile
    clock[0] = 6.0
    assert isinstance(cache.resolve(token), Principal)  # still within the 5 s trust
    clock[0] = 7.0
    revoked = cache.resolve(token)
    assert isinstance(revoked, AuthProblem)
    assert revoked.code == "token_revoked"
    assert len(calls) == 3


# --- limits ---------------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0  # one token back after 1 / rate
    assert bucket.take(0.5) > 0
    assert [bucket.take(100.0) for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # refills to burst only


def test_rate_limiter_keeps_one_bucket_per_token_under_random_load() -> None:
    rng = seeded_random("rate limiter")
    clock = [0.0]
    limiter = RateLimiter(rate=10.0, burst=5, clock=lambda: clock[0])
    allowed: dict[str, int] = {"a": 0, "b": 0}
    for _ in range(2000):
        clock[0] += rng.uniform(0, 0.02)
        key = rng.choice(["a", "b"])
        allowed[key] += limiter.take(key) == 0.0
    for count in allowed.values():
        assert count <= 5 + 10 * clock[0] + 1  # never more than burst + rate x time


def _asgi_call(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> int:
    sent: list[dict[str, Any]] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_body_size_limit_refuses_declared_and_streamed_bodies() -> None:
    async def echo(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200 + len(body) % 1, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app = BodySizeLimit(echo, limit=100)
    assert _asgi_call(app, [(b"content-length", b"50")], [b"x" * 50]) == 200
    assert _asgi_call(app, [(b"content-length", b"101")], [b"x" * 101]) == 413
    assert _asgi_call(app, [], [b"x" * 60, b"x" * 40]) == 200  # chunked, exactly the limit
    assert _asgi_call(app, [], [b"x" * 60, b"x" * 41]) == 413


# --- paging and filters ---------------------------------------------------------------------


def test_cursors_round_trip_and_refuse_tampering() -> None:
    moment = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    cursor = encode_cursor("trips", moment, "KCK 293K", "trip/1")
    assert decode_cursor("trips", cursor, (datetime, str, str)) == (moment, "KCK 293K", "trip/1")
    for bad in ("garbage", cursor[:-3], encode_cursor("readings", moment, "a", "b"),
                encode_cursor("trips", "not a time", "a", "b")):  # fmt: skip
        with pytest.raises(BadCursor, match="next_cursor"):
            decode_cursor("trips", bad, (datetime, str, str))
    assert split_page([1, 2, 3], 2) == ([1, 2], True)
    assert split_page([1, 2], 2) == ([1, 2], False)


def _alert(**changes: Any) -> Alert:
    base: dict[str, Any] = {
        "alert_id": "a1", "truck_id": "T1", "rule": "temp_high", "severity": "major",
        "state": "open", "opened_at": NOW, "changed_at": NOW, "message": "hot",
    }  # fmt: skip
    return Alert(**{**base, **changes})


def test_alert_filter_in_python_and_sql_agree_on_the_same_fields() -> None:
    f = AlertFilter(truck="T1", rule="temp_high", severity="major", since=NOW - 1, until=NOW + 1)
    assert matches(_alert(), f)
    assert not matches(_alert(truck_id="T2"), f)
    assert not matches(_alert(opened_at=NOW + 1), f)  # until is exclusive
    assert not matches(_alert(state="acknowledged"), AlertFilter(state="open"))
    where, params = history_where(f, None)
    assert where == (
        "truck_id = %s AND rule = %s AND severity = %s AND changed_at >= %s AND changed_at < %s"
    )
    assert params[:3] == ["T1", "temp_high", "major"]
    assert params[3].timestamp() == NOW - 1
    after = (datetime.fromtimestamp(NOW, UTC), "a1", "open")
    where, params = history_where(AlertFilter(), after)
    assert where == "(changed_at, alert_id, state) < (%s, %s, %s)"
    assert params == list(after)
    assert history_where(AlertFilter(), None) == ("true", [])
    with pytest.raises(ValueError, match="until must be after since"):
        AlertFilter(since=NOW, until=NOW).check()
    where, params = trips_where(TripFilter(truck="T1", verdict="fail"), None)
    assert (where, params) == ("t.truck_id = %s AND c.verdict = %s", ["T1", "fail"])


# --- ingest ---------------------------------------------------------------------------------


def _raw(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_split_body_takes_one_object_or_an_array_and_refuses_the_rest() -> None:
    one = _raw(truck_id="T", temp=5, timestamp=NOW)
    assert split_body(one, 10) == ([one], False)
    raws, batch = split_body(b"[" + one + b", " + one + b"]", 10)
    assert batch
    assert raws == [one, one]  # each reading's bytes exactly as sent
    for body, reason in ((b"[", "invalid_json"), (b"[]", "not_an_object"),
                         (b"[" + b",".join([one] * 11) + b"]", "too_many")):  # fmt: skip
        with pytest.raises(BodyRefused) as refused:
            split_body(body, 10)
        assert refused.value.rejection.reason == reason


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (_raw(temp=5, timestamp=NOW), "missing_field", "truck_id"),
        (_raw(truck_id="T", temp="hot", timestamp=NOW), "wrong_type", "temp"),
        (_raw(truck_id="T", temp=5, timestamp=NOW, lat=200), "impossible_value", "lat"),
        (b'{"truck_id": "T", "temp": NaN, "timestamp": 1750000000}', "impossible_value", "temp"),
        (_raw(truck_id="T", temp=5, timestamp=NOW + 3600), "future_event", "timestamp"),
        (b'{"truck_id": ', "invalid_json", None),
        (b"42", "not_an_object", None),
        (_raw(truck_id="T", temp=5, timestamp=NOW, pad="x" * 70_000), "too_large", None),
    ],
)
def test_validation_gives_the_pipelines_reason_code_and_the_field(
    raw: bytes, reason: str, field: str | None
) -> None:
    accepted, rejected = validate(
        [raw], batch=False, now_ms=int(NOW * 1000), max_bytes=65536, future_tolerance_s=300
    )
    assert accepted == []
    assert [(r.index, r.reason, r.field) for r in rejected] == [(None, reason, field)]
    assert rejected[0].detail


def test_a_batch_reports_every_bad_reading_by_index() -> None:
    good = _raw(truck_id="T", temp=5, timestamp=NOW - 10, firmware="2.1")
    bad = _raw(truck_id="T", temp=500, timestamp=NOW)
    accepted, rejected = validate(
        [good, bad, good, bad], batch=True, now_ms=int(NOW * 1000), max_bytes=65536,
        future_tolerance_s=300,
    )  # fmt: skip
    assert [a.raw for a in accepted] == [good, good]
    assert accepted[0].reading.event_id  # derived: a resent reading keeps its id
    assert [(r.index, r.field) for r in rejected] == [(1, "temp"), (3, "temp")]
    text = summary(rejected, 4)
    assert text.startswith("2 of 4 readings break the contract, so none was accepted")
    assert "reading 1" in text


# --- pipeline health and the live stream ----------------------------------------------------


def test_pipeline_health_is_red_on_silence_and_stale_heartbeats() -> None:
    assert speed_state([])[0]["ok"] is False
    fresh = Heartbeat(HeartbeatRecord(instance="h:1", at=NOW, lag_s=0.5), age_s=1.0)
    stale = Heartbeat(HeartbeatRecord(instance="h:2", at=NOW - 60), age_s=60.0)
    assert speed_state([fresh, stale])[0]["ok"] is True
    assert "stalled" in speed_state([stale])[0]["detail"]
    behind = Heartbeat(HeartbeatRecord(instance="h:3", at=NOW, lag_s=120), age_s=1.0)
    assert "behind" in speed_state([behind])[0]["detail"]
    assert bridge_state([], NOW)[0]["ok"] is False
    state, rows = bridge_state([BridgeBeat("h:9", NOW - 3, 12, 0.4, 1000)], NOW)
    assert state["ok"] is True
    assert "lag 12 messages" in state["detail"]
    assert rows[0]["age_s"] == 3.0
    assert bridge_state([BridgeBeat("h:9", NOW - 31, None, None, 5)], NOW)[0]["ok"] is False


def test_server_sent_event_framing_and_truck_change_detection() -> None:
    assert sse(b'{"a":1}', "alert", "1-0") == b'id: 1-0\nevent: alert\ndata: {"a":1}\n\n'
    assert sse(b"{}") == b"data: {}\n\n"
    seen: dict[str, float] = {}
    assert changed_trucks(seen, [("A", 1.0), ("B", 2.0)]) == ["A", "B"]
    assert changed_trucks(seen, [("A", 1.0), ("B", 3.0), ("C", 0.5)]) == ["B", "C"]
    assert changed_trucks(seen, [("A", 1.0), ("B", 3.0), ("C", 0.5)]) == []


def test_fleet_snapshot_is_shared_for_its_age_then_read_again() -> None:
    from logistream.api.limits import Snapshot

    clock = [0.0]
    reads: list[float] = []

    def read() -> bytes:
        reads.append(clock[0])
        return f"at {clock[0]}".encode()

    snapshot = Snapshot(0.5, clock=lambda: clock[0])
    assert snapshot.get(read) == b"at 0.0"
    clock[0] = 0.4
    assert snapshot.get(read) == b"at 0.0"
    clock[0] = 0.6
    assert snapshot.get(read) == b"at 0.6"
    assert reads == [0.0, 0.6]
    assert Snapshot(0).get(read) == b"at 0.6"  # 0: every request reads
    assert len(reads) == 3
