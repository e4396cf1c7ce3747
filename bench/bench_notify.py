"""Benchmark: delay from a critical alert on truck_alerts to the e-mail, webhook and SMS arriving.

A real `logistream notify` process (python -m logistream.notify) reads critical alert changes
produced open-loop at a fixed rate, as the speed layer would (key = truck_id); a local SMTP
server (aiosmtpd), a webhook receiver and an SMS gateway (HTTP) note when each request arrives.
The delay is measured from the alert's Kafka record timestamp (its produce time) to the arrival,
HdrHistogram p50/p99 per channel. The baseline, measured in the same run, is one direct request
to the same three servers from this process (no Kafka, no PostgreSQL, no notifier).

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL (a role that may create
databases) / LOGISTREAM_TEST_REDIS_URL when set, else the local stack. A fresh database and
topics are created for the run and dropped after.

    python bench/bench_notify.py            # 600 alerts at 20/s
    python bench/bench_notify.py --smoke    # 40 alerts, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import uuid
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import psycopg
from hdrh.histogram import HdrHistogram
from psycopg import sql

from logistream.config import Settings, child_env, resolve_endpoints
from logistream.events import Alert, encode
from logistream.kafka import ensure_topics, make_producer
from logistream.notify.messages import idempotency_key
from logistream.schema.migrate import migrate

CHANNELS = ("email", "webhook", "sms")
BRIDGE_PW = "bench-bridge-pw"
READER_PW = "bench-reader-pw"


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


class Arrivals:
    """alert_id -> wall-clock arrival, per channel (the first arrival only)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, dict[str, float]] = {c: {} for c in CHANNELS}

    def note(self, channel: str, alert_id: str) -> None:
        at = time.time()
        with self.lock:
            self.seen[channel].setdefault(alert_id, at)

    def count(self) -> dict[str, int]:
        with self.lock:
            return {c: len(v) for c, v in self.seen.items()}


def _http_server(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.startswith("/sms"):
                # The client reference is the idempotency key; main() maps it to the alert.
                arrivals.note("sms", parse_qs(body.decode()).get("clientReference", [""])[0])
                answer = {"SMSMessageData": {"Recipients": [{"statusCode": 101, "messageId": "b"}]}}
                out = json.dumps(answer).encode()
            else:
                payload = json.loads(body or b"{}")
                alert_id = payload.get("alert", {}).get("alert_id") or payload.get("baseline", "")
                arrivals.note("webhook", alert_id)
                out = b"{}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _smtp_server(arrivals: Arrivals) -> Any:
    import email as email_lib
    import email.policy

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            msg = email_lib.message_from_bytes(envelope.content, policy=email.policy.default)
            arrivals.note("email", str(msg.get("X-LogiStream-Alert", "")))
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def _routing(webhook_url: str) -> str:
    return f"""
[people.ops]
name = "Ops"
email = "ops@example.co.ke"
sms = "+254700000001"
webhook = "{webhook_url}"
[[route]]
notify = ["ops"]
[watchdog]
speed = false
bridge = false
"""


def _baseline(http_port: int, smtp_port: int, rounds: int) -> dict[str, HdrHistogram]:
    """One direct request per channel per round (ms), no pipeline in between."""
    hists = {c: HdrHistogram(1, 60_000_000, 3) for c in CHANNELS}
    with httpx.Client(timeout=10) as client:
        for i in range(rounds):
            t = time.perf_counter()
            client.post(f"http://127.0.0.1:{http_port}/hook", json={"baseline": f"b{i}"})
            hists["webhook"].record_value(max(1, int((time.perf_counter() - t) * 1e6)))
            t = time.perf_counter()
            client.post(f"http://127.0.0.1:{http_port}/sms", data={"clientReference": f"b{i}"})
            hists["sms"].record_value(max(1, int((time.perf_counter() - t) * 1e6)))
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "a@b", "c@d", "baseline"
            msg["X-LogiStream-Alert"] = f"b{i}"
            msg.set_content("baseline")
            t = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
                smtp.send_message(msg)
            hists["email"].record_value(max(1, int((time.perf_counter() - t) * 1e6)))
    return hists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="40 alerts, a few seconds")
    parser.add_argument("--alerts", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0, help="alerts per second (open loop)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    total = 40 if args.smoke else args.alerts
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    print(f"seed={seed} alerts={total} rate={args.rate}/s")

    env_kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP")
    admin_url = os.environ.get("LOGISTREAM_TEST_DATABASE_URL")
    redis_url = os.environ.get("LOGISTREAM_TEST_REDIS_URL")
    if not (env_kafka and admin_url and redis_url):
        endpoints = resolve_endpoints()
        env_kafka, admin_url, redis_url = (
            endpoints.kafka_bootstrap, endpoints.database_url, endpoints.redis_url
        )  # fmt: skip
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_notify_{suffix}"
    settings = Settings(
        kafka_bootstrap=env_kafka, database_url=_with_db(admin_url, database), redis_url=redis_url,
        topic_alerts=f"bench_alerts.{suffix}", notify_group=f"bench-notify.{suffix}",
        bridge_db_password=BRIDGE_PW, reader_db_password=READER_PW,
    )  # fmt: skip
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    arrivals = Arrivals()
    http = _http_server(arrivals)
    http_port = http.server_address[1]
    smtp, smtp_port = _smtp_server(arrivals)
    log = Path(f"/tmp/bench_notify_{suffix}.log")
    proc: subprocess.Popen[bytes] | None = None
    try:
        ensure_topics(settings, [settings.topic_alerts], partitions=3)
        assert settings.database_url
        migrate(settings, settings.database_url)
        base = _baseline(http_port, smtp_port, 20 if args.smoke else 100)
        routing = Path(f"/tmp/bench_notify_{suffix}.toml")
        routing.write_text(_routing(f"http://127.0.0.1:{http_port}/hook"))
        env = child_env(settings)
        env.update({
            "LOGISTREAM_NOTIFY_ROUTING_FILE": str(routing),
            "LOGISTREAM_NOTIFY_ACK_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
            "LOGISTREAM_NOTIFY_SMTP_HOST": "127.0.0.1",
            "LOGISTREAM_NOTIFY_SMTP_PORT": str(smtp_port),
            "LOGISTREAM_NOTIFY_SMTP_SECURITY": "none",
            "LOGISTREAM_NOTIFY_WEBHOOK_SECRET": "bench",
            "LOGISTREAM_NOTIFY_SMS_URL": f"http://127.0.0.1:{http_port}/sms",
            "LOGISTREAM_NOTIFY_SMS_USERNAME": "bench",
            "LOGISTREAM_NOTIFY_SMS_API_KEY": "bench",
            "LOGISTREAM_LOG_LEVEL": "WARNING",
        })  # fmt: skip
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "logistream.notify"], env=env, stdout=out, stderr=out
            )
        # Warm-up: one alert through every channel, so start-up is not measured.
        producer = make_producer(settings, **{"linger.ms": 0})

        def send(alert_id: str, truck: str) -> None:
            now = time.time()
            alert = Alert(
                alert_id=alert_id, truck_id=truck, rule="temp_critical", severity="critical",
                state="open", opened_at=now - 5, changed_at=now, cargo="vaccines", value=13.1,
                threshold=12.0, lat=-3.39, lon=38.55, message=f"{truck} passed 12 °C",
            )  # fmt: skip
            producer.produce(
                settings.topic_alerts, key=truck, value=encode(alert),
                on_delivery=lambda e, m: record_ts.__setitem__(alert_id, m.timestamp()[1] / 1000)
                if e is None else None,
            )  # fmt: skip

        record_ts: dict[str, float] = {}
        warm = str(uuid.uuid4())
        send(warm, "KWARM 001")
        producer.flush(30)
        deadline = time.monotonic() + 120

        def seen(channel: str, alert_id: str) -> float | None:
            ref = (
                idempotency_key(alert_id, "open", "ops", "sms", 0) if channel == "sms" else alert_id
            )
            return arrivals.seen[channel].get(ref)

        while any(seen(c, warm) is None for c in CHANNELS):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the notifier did not deliver the warm-up alert; see {log}")
            time.sleep(0.05)

        ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(total)]
        started = time.perf_counter()
        for i, alert_id in enumerate(ids):
            # Open loop: each alert leaves at its scheduled moment, whatever the notifier does.
            due = started + i / args.rate
            while (wait := due - time.perf_counter()) > 0:
                producer.poll(min(wait, 0.01))
            send(alert_id, f"KB{rng.randrange(100):03d} {i % 26 + 65:c}")
            producer.poll(0)
        producer.flush(30)
        deadline = time.monotonic() + 120 + total / args.rate
        while any(seen(c, a) is None for c in CHANNELS for a in ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"not every alert arrived: {arrivals.count()}; see {log}")
            time.sleep(0.1)

        print(f"{'channel':<8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   "
              f"{'baseline p50':>12} {'ratio p50':>9}")  # fmt: skip
        for channel in CHANNELS:
            hist = HdrHistogram(1, 600_000_000, 3)
            for alert_id in ids:
                arrived = seen(channel, alert_id)
                assert arrived is not None
                delay = arrived - record_ts[alert_id]
                hist.record_value(max(1, int(delay * 1e6)))
            p50 = hist.get_value_at_percentile(50) / 1000
            p99 = hist.get_value_at_percentile(99) / 1000
            b50 = base[channel].get_value_at_percentile(50) / 1000
            print(f"{channel:<8} {p50:>8.1f} {p99:>8.1f} {hist.get_max_value() / 1000:>8.1f}   "
                  f"{b50:>12.2f} {p50 / b50:>8.0f}x")  # fmt: skip
        print("delay = alert record timestamp on truck_alerts -> request arriving at the server")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = -9
            if code != 0:
                print(f"notifier exited {code}; see {log}", file=sys.stderr)
        smtp.stop()
        http.shutdown()
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": env_kafka}).delete_topics(
            [settings.topic_alerts], operation_timeout=30
        )
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


if __name__ == "__main__":
    main()
