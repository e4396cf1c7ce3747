"""The notifier's loop: truck_alerts -> routing -> the log (pending) -> Kafka commit -> workers.

Order of durability: the planned sends of a batch of alert changes are written to PostgreSQL in
one transaction, and only then are the batch's offsets committed to Kafka (so a crash replays
the batch, and the log's unique idempotency keys make the replay a no-op). The channel workers
send from the log, so a slow or dead channel never holds up consumption or the other channels.
The same loop runs escalation and the watchdog every ``check_interval_s``.

Outages: when PostgreSQL is unreachable (at start or later), the batch in hand is kept and its
offsets stay uncommitted; the loop logs one warning per retry, backs off, reconnects and goes
on. While it waits, the consumer's partitions are paused and it keeps polling, so it stays in
its group. A stop request ends the wait at once; the uncommitted batch is read again next time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logistream.backoff import Backoff
from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.errors import StoreUnavailable
from logistream.events import Alert, decode_alert
from logistream.kafka import Consumer, Received, TopicOffset, group_consumer
from logistream.link_tokens import make_token
from logistream.notify import escalation, log_store, watchdog
from logistream.notify.channels.base import Channel
from logistream.notify.channels.email import EmailChannel
from logistream.notify.channels.sms import SmsChannel
from logistream.notify.channels.webhook import WebhookChannel
from logistream.notify.channels.worker import ChannelWorker
from logistream.notify.messages import (
    KIND_ALERT,
    KIND_ESCALATION,
    Notification,
    place,
    render_alert,
    render_watchdog,
)
from logistream.notify.options import NotifyOptions, ack_secret, public_url, secret
from logistream.notify.routing import (
    SILENT_STATES,
    AlertFacts,
    RoutingConfig,
    Target,
    escalation_targets,
    route_alert,
    watchdog_targets,
)
from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg

    from logistream.live_views import LiveViews

log = logging.getLogger("logistream.notify")

ACK_PATH = "/ack/"


@dataclass(frozen=True, slots=True)
class Context:
    """Everything rendering needs besides the alert: routing, registry, link signing."""

    routing: RoutingConfig
    registry: Registry
    link_secret: bytes
    link_base: str
    link_ttl_s: float

    def facts(self, alert: Alert, state: str | None = None) -> AlertFacts:
        truck = self.registry.truck(alert.truck_id)
        return AlertFacts(
            truck_id=alert.truck_id,
            rule=alert.rule,
            severity=alert.severity,
            state=state or alert.state,
            cargo=alert.cargo or (truck.cargo if truck else None),
            route=truck.route if truck else None,
            driver_id=truck.driver_id if truck else None,
        )

    def where(self, alert: Alert) -> str:
        truck = self.registry.truck(alert.truck_id)
        route = self.registry.routes.get(truck.route) if truck else None
        points = (
            route.waypoints
            if route
            else tuple(w for r in self.registry.routes.values() for w in r.waypoints)
        )
        return place(alert.lat, alert.lon, points)

    def cargo_label(self, alert: Alert) -> str | None:
        name = self.facts(alert).cargo
        profile = self.registry.cargo.get(name) if name else None
        return profile.label if profile else name

    def link(self, alert: Alert, target: Target, now: float) -> str | None:
        if alert.state != "open":
            return None
        token = make_token(
            self.link_secret, alert.alert_id, target.person.name, now + self.link_ttl_s
        )
        return f"{self.link_base}{ACK_PATH}{token}"

    def render(
        self,
        alert: Alert,
        targets: list[Target],
        kind: str,
        now: float,
        waited_s: float | None = None,
    ) -> list[Notification]:
        where = self.where(alert)
        label = self.cargo_label(alert)
        return [
            render_alert(
                alert, t, kind=kind, where=where, cargo_label=label, link=self.link(alert, t, now),
                zone=self.routing.zone, unacked_min=None if waited_s is None else waited_s / 60,
            )
            for t in targets
        ]  # fmt: skip


def make_channels(settings: Settings, options: NotifyOptions) -> list[Channel]:
    return [
        EmailChannel(options, secret(settings, options.smtp_password, "notify_smtp_password")),
        SmsChannel(options, secret(settings, options.sms_api_key, "notify_sms_api_key")),
        WebhookChannel(
            secret(settings, options.webhook_secret, "notify_webhook_secret"),
            options.webhook_timeout_s,
        ),
    ]


class Notifier:
    def __init__(
        self,
        settings: Settings,
        options: NotifyOptions,
        routing: RoutingConfig,
        registry: Registry,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.endpoints = endpoints or resolve_endpoints(settings)
        self.context = Context(
            routing=routing,
            registry=registry,
            link_secret=ack_secret(settings, options),
            link_base=public_url(options),
            link_ttl_s=options.link_ttl_h * 3600.0,
        )
        self.started = time.time()
        self.changes = 0
        self._workers_stop = threading.Event()
        self.workers: dict[str, ChannelWorker] = {}
        self._conn: psycopg.Connection[Any] | None = None
        self._waiting = False  # for PostgreSQL: the alert partitions are paused meanwhile

    # ---- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        import psycopg
        import redis

        from logistream.live_views import RedisLiveViews

        rclient = redis.Redis.from_url(self.endpoints.redis_url, socket_timeout=5)
        live = RedisLiveViews(rclient)
        consumer = self._subscribe()
        self._start_workers()
        backoff = Backoff(cap_s=5.0)
        held: list[Received] = []  # alert changes read but not yet logged: offsets not committed
        last_check = 0.0
        try:
            while not stop.is_set():
                if not held:
                    held = self._read(consumer, 0.2)
                step = "connecting"
                try:
                    conn = self._connection()
                    if held:
                        step = f"logging {len(held)} alert changes"
                        self.handle_changes(conn, held)
                        self._commit(consumer, held)
                        held = []
                    now = time.monotonic()
                    if now - last_check >= self.options.check_interval_s:
                        last_check = now
                        step = "checking escalations and the watchdog"
                        self.escalate(conn, time.time())
                        self.watch(conn, live, time.time())
                except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                    self._drop_connection()
                    delay = backoff.next_delay()
                    log.warning(
                        "PostgreSQL unavailable while %s (%s); %d alert changes held, offsets "
                        "not committed; retry %d in %.1f s", step, " ".join(str(error).split()),
                        len(held), backoff.attempts, delay,
                    )  # fmt: skip
                    self._set_waiting(consumer, True)
                    held += self._wait(consumer, stop, delay)
                    continue
                if backoff.attempts:
                    log.info("PostgreSQL is back after %d retries", backoff.attempts)
                    backoff.reset()
                self._set_waiting(consumer, False)  # a no-op unless it was waiting
        finally:
            # What was committed is in the log; a batch still held (PostgreSQL down) is read
            # again after the restart. Pending sends wait in the log; workers finish the one
            # in hand.
            consumer.close()
            self._workers_stop.set()
            for worker in self.workers.values():
                worker.wake.set()
            for worker in self.workers.values():
                worker.join(timeout=30)
            rclient.close()
            self._drop_connection()

    def _subscribe(self) -> Consumer:
        # A short session: after a crash, a restarted notifier gets its partitions back in
        # seconds instead of the default 45 s. A long poll interval: one slow step (a
        # connect timing out) must not cost the assignment.
        consumer = group_consumer(
            self.settings, self.settings.notify_group, self.endpoints,
            config={"session.timeout.ms": 10_000, "heartbeat.interval.ms": 2_000,
                    "max.poll.interval.ms": 600_000},
        )  # fmt: skip
        consumer.subscribe(
            [self.settings.topic_alerts], on_assign=lambda parts: self._on_assign(consumer, parts)
        )
        return consumer

    def _on_assign(self, consumer: Consumer, partitions: list[TopicOffset]) -> None:
        # Assigned here, not by the client after this callback, so that the pause state can be
        # set: librdkafka keeps a pause across a revoke, so a partition paused during an outage
        # could come back paused for good (resuming one that is not paused is a no-op).
        consumer.incremental_assign(partitions)
        self._pause(consumer, partitions, pause=self._waiting)

    def _start_workers(self) -> None:
        for channel in make_channels(self.settings, self.options):
            worker = ChannelWorker(channel, self.endpoints.database_url, self.options,
                                   self._workers_stop)  # fmt: skip
            self.workers[channel.name] = worker
            worker.start()

    def _connection(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.endpoints.database_url, autocommit=True, connect_timeout=10
            )
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()  # safe on a broken connection; the next use reconnects
            self._conn = None

    def _read(self, consumer: Consumer, timeout: float) -> list[Received]:
        # poll() returns as soon as one change is there; consume(timeout=0) then takes what
        # else is ready (consume with a timeout would wait to fill the batch). Error events
        # are logged by the consumer and left out.
        first = consumer.poll(timeout)
        return [first, *consumer.consume(199, 0)] if first is not None else []

    def _wait(self, consumer: Consumer, stop: threading.Event, seconds: float) -> list[Received]:
        """Sleep ``seconds`` (less if stopped) while polling the paused consumer, so the group
        keeps it; changes delivered anyway (fetched before the pause) are returned, not lost."""
        kept: list[Received] = []
        end = time.monotonic() + seconds
        while not stop.is_set() and (left := end - time.monotonic()) > 0:
            kept += self._read(consumer, min(left, 0.2))
        return kept

    def _set_waiting(self, consumer: Consumer, waiting: bool) -> None:
        """Pause (or resume) the assigned alert partitions; on failure, the next call retries."""
        if waiting == self._waiting:
            return
        try:
            self._pause(consumer, consumer.assignment(), pause=waiting)
        except StoreUnavailable as error:
            log.warning("Kafka: could not %s the alert partitions (%s); trying again",
                        "pause" if waiting else "resume", error)  # fmt: skip
            return
        self._waiting = waiting

    def _pause(self, consumer: Consumer, partitions: list[TopicOffset], *, pause: bool) -> None:
        if partitions:
            (consumer.pause if pause else consumer.resume)(partitions)

    def _commit(self, consumer: Consumer, msgs: list[Received]) -> None:
        nexts: dict[tuple[str, int], int] = {}
        for m in msgs:
            key = (m.topic(), m.partition())
            nexts[key] = max(nexts.get(key, 0), m.offset() + 1)
        try:
            consumer.commit([TopicOffset(t, p, o) for (t, p), o in nexts.items()])
        except StoreUnavailable as error:
            # E.g. a rebalance: the changes are logged already, so reading them again (here
            # or in the partitions' next owner) is a no-op.
            log.warning("Kafka: could not commit the offsets of %d logged alert changes (%s); "
                        "they will be read again, harmlessly", len(msgs), error)  # fmt: skip

    def _wake(self, notes: list[Notification]) -> None:
        for channel in {n.channel for n in notes}:
            worker = self.workers.get(channel)
            if worker is not None:
                worker.wake.set()

    # ---- alert changes -------------------------------------------------------------------

    def handle_changes(self, conn: psycopg.Connection[Any], msgs: list[Received]) -> None:
        now = time.time()
        planned: list[Notification] = []
        with conn.transaction():
            for m in msgs:
                try:
                    alert = decode_alert(m.value() or b"")  # empty: unreadable
                except Exception as error:  # a bad message is skipped, never fatal
                    log.warning("skipping an unreadable alert change at %s/%s: %s",
                                m.partition(), m.offset(), error)  # fmt: skip
                    continue
                planned += self.plan_change(conn, alert, now)
        self.changes += len(msgs)
        self._wake(planned)

    def plan_change(
        self, conn: psycopg.Connection[Any], alert: Alert, now: float
    ) -> list[Notification]:
        if alert.state in SILENT_STATES:
            return []  # a held alarm (operating mode) is a record, never sent nor escalated
        cfg = self.context.routing
        old = log_store.lock_track(conn, alert.alert_id)
        track = escalation.on_change(cfg, old, alert.alert_id, alert.state, alert.severity, now)
        targets = route_alert(cfg, self.context.facts(alert), now)
        notes = self.context.render(alert, targets, KIND_ALERT, now)
        log_store.insert_notifications(conn, notes)
        log_store.save_track(conn, track, alert)
        return notes

    # ---- escalation ----------------------------------------------------------------------

    def escalate(self, conn: psycopg.Connection[Any], now: float) -> list[Notification]:
        cfg = self.context.routing
        planned: list[Notification] = []
        with conn.transaction():
            for track, alert in log_store.lock_due_tracks(conn, now):
                level = track.levels_done + 1
                targets = escalation_targets(cfg, self.context.facts(alert, "open"), level, now)
                notes = self.context.render(
                    alert, targets, KIND_ESCALATION, now, waited_s=now - track.first_seen_at
                )
                log_store.insert_notifications(conn, notes)
                log_store.save_track(conn, escalation.escalated(cfg, track), None)
                log.info("alert %s unacknowledged: escalated to level %d (%d sends)",
                         alert.alert_id, level, len(notes))  # fmt: skip
                planned += notes
        self._wake(planned)
        return planned

    # ---- watchdog ------------------------------------------------------------------------

    def watch(
        self, conn: psycopg.Connection[Any], live: LiveViews, now: float
    ) -> list[Notification]:
        cfg = self.context.routing.watchdog
        checks: list[tuple[str, float]] = []
        if cfg.speed:
            checks.append(("speed", cfg.speed_stale_s))
        if cfg.bridge:
            checks.append(("bridge", cfg.bridge_stale_s))
        planned: list[Notification] = []
        if not checks:
            return planned
        known = log_store.load_watchdog(conn)
        for component, stale_s in checks:
            if now - self.started < stale_s:
                continue  # a grace period: the pipeline may be starting alongside us
            verdict = self._verdict(component, stale_s, conn, live, now)
            previous = known.get(component)
            if not watchdog.transition(previous, verdict):
                continue
            since = now if verdict.stalled or previous is None else previous.since
            targets = watchdog_targets(self.context.routing, now)
            notes = [
                render_watchdog(component, verdict.stalled, since, verdict.detail, t,
                                self.context.routing.zone)
                for t in targets
            ]  # fmt: skip
            with conn.transaction():
                log_store.insert_notifications(conn, notes)
                log_store.save_watchdog(
                    conn, component, watchdog.Known(verdict.stalled, since), verdict.detail
                )
            log.warning("watchdog: %s %s (%s)", component,
                        "STALLED" if verdict.stalled else "recovered", verdict.detail)  # fmt: skip
            planned += notes
        self._wake(planned)
        return planned

    def _verdict(
        self,
        component: str,
        stale_s: float,
        conn: psycopg.Connection[Any],
        live: LiveViews,
        now: float,
    ) -> watchdog.Verdict:
        import redis

        if component == "speed":
            try:
                age = watchdog.speed_age(live, now)
            except redis.RedisError as error:
                return watchdog.Verdict(
                    "speed", True, f"Redis unreachable ({type(error).__name__})"
                )
        else:
            age = watchdog.bridge_age(conn, self.settings.bridge_group, now)
        return watchdog.assess(component, age, stale_s)
