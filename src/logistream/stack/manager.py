"""The local stack as a whole: the servers the environment does not already name."""

from __future__ import annotations

from logistream.config import Settings
from logistream.stack.kafka_server import KafkaServer
from logistream.stack.postgres_server import PostgresServer
from logistream.stack.redis_server import RedisServer
from logistream.stack.secrets import ensure_secrets
from logistream.stack.service import LocalService, ServiceStatus


class Stack:
    """Kafka, PostgreSQL and Redis under ``settings.home``; external servers are left alone."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kafka = KafkaServer(settings)
        self.postgres = PostgresServer(settings)
        self.redis = RedisServer(settings)

    def local_services(self) -> list[LocalService]:
        """The servers this stack runs: those no ``LOGISTREAM_*`` URL names elsewhere."""
        services: list[LocalService] = []
        if not self.settings.database_url:
            services.append(self.postgres)
        if not self.settings.redis_url:
            services.append(self.redis)
        if not self.settings.kafka_bootstrap:
            services.append(self.kafka)
        return services

    def up(self) -> None:
        """Start what is not running; return once every server answers. Idempotent."""
        ensure_secrets(self.settings)
        for service in self.local_services():
            service.up()
        if self.settings.kafka_bootstrap:
            # An external cluster still needs the pipeline's topics.
            from logistream.kafka import ensure_topics, pipeline_topics

            ensure_topics(self.settings, pipeline_topics(self.settings))

    def down(self) -> None:
        """Stop exactly the processes this stack started (Kafka first: it holds no one's data)."""
        for service in reversed(self.local_services()):
            service.down()

    def status(self) -> list[ServiceStatus]:
        statuses = [service.status() for service in self.local_services()]
        if self.settings.kafka_bootstrap:
            statuses.append(ServiceStatus("kafka", "external", self.settings.kafka_bootstrap))
        if self.settings.database_url:
            statuses.append(
                ServiceStatus("postgres", "external", _hide_password(self.settings.database_url))
            )
        if self.settings.redis_url:
            statuses.append(
                ServiceStatus("redis", "external", _hide_password(self.settings.redis_url))
            )
        return statuses


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user + '@' if user else ''}{host}"
