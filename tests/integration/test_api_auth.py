"""Auth and limits of the integration API over real PostgreSQL: no token, a wrong token, a
revoked token and a wrong scope are each refused with a body saying what is missing; the rate,
refused-token and body-size limits hold; /ready names the service that is down."""

from __future__ import annotations

import re
import secrets
import time

from tests.integration.api_support import api_client, auth, fetch, prepare, run_api_cli

from logistream.config import Settings
from logistream.stack.process import free_port


def test_tokens_from_the_cli_and_every_refusal(
    settings: Settings, settings_env: dict[str, str]
) -> None:
    prepare(settings)
    created = run_api_cli(settings_env, "token", "create", "tms", "--scope", "read")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert re.fullmatch(r"lsapi_[A-Za-z0-9_-]{43}", token)
    assert "shown only now" in created.stderr
    stored = fetch(settings, "SELECT name, scopes, token_hash FROM api_tokens")
    assert [(n, s) for n, s, _ in stored] == [("tms", ["read"])]
    assert token not in str(stored)  # only the hash is at rest

    duplicate = run_api_cli(settings_env, "token", "create", "tms", "--scope", "read")
    assert duplicate.returncode == 2
    assert "revoke it first" in duplicate.stderr
    wrong_scope = run_api_cli(settings_env, "token", "create", "x", "--scope", "admin")
    assert wrong_scope.returncode == 2
    assert "read, ack, ingest" in wrong_scope.stderr

    with api_client(settings, token_cache_s=0) as api:
        assert api.get("/health").status_code == 200
        assert api.get("/ready").json()["ready"] is True

        none = api.get("/v1/trucks")
        assert none.status_code == 401
        assert none.json()["error"] == "token_missing"
        assert none.headers["www-authenticate"].startswith("Bearer")

        guessed = api.get("/v1/trucks", headers=auth("lsapi_" + secrets.token_urlsafe(32)))
        assert guessed.status_code == 401
        assert guessed.json()["error"] == "token_invalid"
        malformed = api.get("/v1/trucks", headers={"Authorization": f"Basic {token}"})
        assert malformed.status_code == 401
        assert malformed.json()["error"] == "token_malformed"

        assert api.get("/v1/trucks", headers=auth(token)).status_code == 200
        scope = api.post("/v1/readings", json={}, headers=auth(token))
        assert scope.status_code == 403
        assert scope.json()["error"] == "scope_missing"
        assert scope.json()["missing_scope"] == "ingest"
        assert "--scope ingest" in scope.json()["detail"]

        revoked = run_api_cli(settings_env, "token", "revoke", "tms")
        assert revoked.returncode == 0, revoked.stderr
        refused = api.get("/v1/trucks", headers=auth(token))
        assert refused.status_code == 401
        assert refused.json()["error"] == "token_revoked"
        assert "'tms'" in refused.json()["detail"]
        # A new token may take the name again; the old one stays refused.
        again = run_api_cli(settings_env, "token", "create", "tms", "--scope", "read,ack")
        assert again.returncode == 0, again.stderr
        assert api.get("/v1/trucks", headers=auth(again.stdout.strip())).status_code == 200
        assert api.get("/v1/trucks", headers=auth(token)).status_code == 401
    listed = run_api_cli(settings_env, "token", "list")
    assert re.search(r"tms\s+read\s+created \S+ revoked", listed.stdout)
    assert re.search(r"tms\s+ack,read\s+created \S+ live", listed.stdout)


def test_rate_refused_token_and_body_size_limits(settings: Settings) -> None:
    tokens = prepare(settings, a=["read"], b=["read"], device=["ingest"])
    options = {"burst": 3, "rate_per_s": 0.5, "auth_failures_per_min": 6, "max_body_bytes": 2048}
    with api_client(settings, **options) as api:
        codes = [api.get("/v1/trucks", headers=auth(tokens["a"])).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = api.get("/v1/trucks", headers=auth(tokens["a"]))
        assert limited.json()["error"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Another token has its own bucket: one client cannot starve the rest.
        assert api.get("/v1/trucks", headers=auth(tokens["b"])).status_code == 200

        wrong = [
            api.get("/v1/trucks", headers=auth("lsapi_" + "x" * 43)).status_code for _ in range(4)
        ]
        assert wrong == [401, 401, 401, 429]

        big = [{"truck_id": "T", "temp": 5.0, "timestamp": time.time(), "pad": "x" * 3000}]
        too_large = api.post("/v1/readings", json=big, headers=auth(tokens["device"]))
        assert too_large.status_code == 413
        assert too_large.json()["error"] == "body_too_large"

        def chunks() -> object:
            yield b'[{"truck_id": "T", "temp": 5, "timestamp": 1.7e9, "pad": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}]'

        chunked = api.post("/v1/readings", content=chunks(), headers=auth(tokens["device"]))
        assert chunked.status_code == 413


def test_ready_and_reads_name_the_service_that_is_down(settings: Settings) -> None:
    tokens = prepare(settings, reader=["read"], device=["ingest"])
    down = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
            "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        }
    )
    with api_client(down, kafka_timeout_s=2.0) as api:
        assert api.get("/health").status_code == 200
        ready = api.get("/ready")
        assert ready.status_code == 503
        services = ready.json()["services"]
        assert (services["redis"]["ok"], services["postgres"]["ok"], services["kafka"]["ok"]) == (
            False, True, False,
        )  # fmt: skip
        assert services["redis"]["detail"].startswith("redis is down")
        sent = api.post(
            "/v1/readings",
            json={"truck_id": "KBX 101A", "temp": 5.0, "timestamp": time.time() - 5},
            headers=auth(tokens["device"]),
        )
        assert sent.status_code == 503, "a reading Kafka did not acknowledge is not accepted"
        assert (sent.json()["error"], sent.json()["service"]) == ("kafka_unavailable", "kafka")
        assert sent.headers["Retry-After"] == "5"
        fleet = api.get("/v1/trucks", headers=auth(tokens["reader"]))
        assert fleet.status_code == 503
        assert (fleet.json()["error"], fleet.json()["service"]) == ("redis_unavailable", "redis")
        pipeline = api.get("/v1/pipeline", headers=auth(tokens["reader"])).json()
        assert pipeline["ok"] is False
        assert pipeline["speed"]["detail"].startswith("redis is down")
