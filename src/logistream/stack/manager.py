"""The local stack as a whole: the servers the environment does not already name.

A stack home keeps its data across ``down`` and ``up``; :meth:`Stack.purge` removes it on request
(``stack down --purge``, and every temporary stack when it stops).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from logistream.config import Endpoints, Settings, hide_password
from logistream.errors import StackError
from logistream.stack import security
from logistream.stack.kafka_server import KafkaCluster
from logistream.stack.layout import StackLayout
from logistream.stack.mosquitto_server import MosquittoServer
from logistream.stack.postgres_server import PostgresServer
from logistream.stack.redis_server import RedisServer
from logistream.stack.secrets import ensure_secrets
from logistream.stack.service import LocalService, ServiceStatus


class Stack:
    """Kafka, PostgreSQL, Redis and Mosquitto under ``settings.home``; external servers are left
    alone.

    ``brokers`` and ``secure`` apply to a new home; an existing one keeps the layout it was set
    up with (``<home>/stack.json``), and asking for another is an error.
    """

    def __init__(
        self, settings: Settings, *, brokers: int | None = None, secure: bool | None = None
    ) -> None:
        self.settings = settings
        self.layout = StackLayout.resolve(settings, brokers, secure)
        self.kafka = KafkaCluster(settings, self.layout)
        self.postgres = PostgresServer(settings)
        self.redis = RedisServer(settings, secure=self.layout.secure)
        self.mosquitto = MosquittoServer(settings)

    @property
    def secure(self) -> bool:
        return self.layout.secure

    def prepare(self) -> None:
        """Remember the layout and create the passwords, before any server starts."""
        self.layout.save(self.settings)
        extra = security.secure_secret_names() if self.secure else ()
        ensure_secrets(self.settings, extra)

    def local_services(self) -> list[LocalService]:
        """The servers this stack runs: those no ``LOGISTREAM_*`` URL names elsewhere."""
        services: list[LocalService] = []
        if not self.settings.database_url:
            services.append(self.postgres)
        if not self.settings.redis_url:
            services.append(self.redis)
        if not self.settings.kafka_bootstrap:
            services.append(self.kafka)
        if not self.settings.mqtt_url:
            services.append(self.mosquitto)
        return services

    def up(self) -> None:
        """Start what is not running; return once every server answers. Idempotent."""
        self.prepare()
        for service in self.local_services():
            service.up()
        if self.settings.kafka_bootstrap:
            # An external cluster still needs the pipeline's topics.
            from logistream.kafka import ensure_topics, pipeline_topics
            from logistream.shipments.publish import ensure_topic as ensure_shipments_topic

            ensure_topics(self.settings, pipeline_topics(self.settings))
            ensure_shipments_topic(self.settings)
        if self.secure:
            security.write_service_env_files(self.settings, self.kafka_bootstrap)

    @property
    def kafka_bootstrap(self) -> str:
        return self.settings.kafka_bootstrap or self.kafka.bootstrap

    def endpoints(self) -> Endpoints:
        """Where this stack's servers are, as its admin: all brokers, the admin Redis user."""
        from logistream.config import resolve_endpoints

        endpoints = resolve_endpoints(self.settings)
        redis_url = endpoints.redis_url
        if self.secure and not self.settings.redis_url:
            redis_url = security.redis_url(self.settings, security.REDIS_ADMIN)
        return Endpoints(
            self.kafka_bootstrap, endpoints.database_url, redis_url, endpoints.mqtt_url
        )

    def service_settings(self, service: str) -> Settings:
        """Settings as ``service`` sees them on a secure stack (its own Kafka and Redis user)."""
        env = security.service_environment(self.settings, service, self.kafka_bootstrap)
        update = {name.removeprefix("LOGISTREAM_").lower(): value for name, value in env.items()}
        return self.settings.model_copy(update=update)

    def down(self) -> None:
        """Stop exactly the processes this stack started (Mosquitto and Kafka first: they hold no
        one's data but queued messages, which they keep on disk).

        One server that fails to stop does not keep the others running; the first failure is
        raised once every server was asked.
        """
        failures: list[StackError] = []
        for service in reversed(self.local_services()):
            try:
                service.down()
            except StackError as error:
                failures.append(error)
        if failures:
            raise failures[0]

    def purge(self) -> list[Path]:
        """Stop this home's own servers and remove their data; the paths removed.

        Removed: Kafka's, Redis's and Mosquitto's folders, PostgreSQL's data folder (as root,
        the one under ``/var/tmp/logistream-postgres``) and its link, the layout and the
        ``--secure`` env files.
        Kept: the passwords (``secrets.json``) and what is not the servers' (a simulator's spool).
        Every server of the home is stopped, even one a ``LOGISTREAM_*`` URL now replaces.
        """
        self.mosquitto.down()
        self.kafka.down()
        self.redis.down()
        removed = self.postgres.destroy()
        for path in (
            self.kafka.root,
            self.redis.root,
            self.mosquitto.root,
            StackLayout.path(self.settings),
            security.env_dir(self.settings),
        ):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            removed.append(path)
        return removed

    def status(self) -> list[ServiceStatus]:
        statuses: list[ServiceStatus] = []
        for service in self.local_services():
            # A cluster: one line per node.
            statuses += self.kafka.statuses() if service is self.kafka else [service.status()]
        if self.settings.kafka_bootstrap:
            statuses.append(ServiceStatus("kafka", "external", self.settings.kafka_bootstrap))
        if self.settings.database_url:
            statuses.append(
                ServiceStatus("postgres", "external", hide_password(self.settings.database_url))
            )
        if self.settings.redis_url:
            statuses.append(
                ServiceStatus("redis", "external", hide_password(self.settings.redis_url))
            )
        if self.settings.mqtt_url:
            statuses.append(
                ServiceStatus("mosquitto", "external", hide_password(self.settings.mqtt_url))
            )
        return statuses
