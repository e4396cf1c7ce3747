"""Apache Kafka 4.x in KRaft mode (broker and controller in one JVM) from its Maven Central jars."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from logistream.config import Settings
from logistream.kafka import ensure_topics, pipeline_topics
from logistream.stack import prereqs
from logistream.stack.process import (
    port_open,
    read_pid,
    require_free_port,
    run_checked,
    start_detached,
    stop_pid,
    wait_until,
)
from logistream.stack.service import ServiceStatus

START_TIMEOUT_S = 120.0


def server_properties(settings: Settings, data_dir: Path) -> str:
    host = "127.0.0.1"
    broker, controller = settings.kafka_port, settings.kafka_controller_port
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={host}:{controller}",
            f"listeners=PLAINTEXT://{host}:{broker},CONTROLLER://{host}:{controller}",
            f"advertised.listeners=PLAINTEXT://{host}:{broker},CONTROLLER://{host}:{controller}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            f"num.partitions={settings.partitions}",
            # One node: internal topics cannot have more replicas than brokers.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # Topics are created on purpose (stack up, tests); a typo must not create one.
            "auto.create.topics.enable=false",
            "log.retention.hours=168",
            "",
        ]
    )


class KafkaServer:
    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = (settings.home / "kafka").resolve()
        self.data_dir = self.root / "data"
        self.config_path = self.root / "server.properties"
        self.pid_path = self.root / "kafka.pid"
        self.log_path = self.root / "kafka.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    def pid(self) -> int | None:
        return read_pid(self.pid_path, str(self.config_path))

    def _format_storage_once(self, java: str, classpath: str) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        run_checked(
            [
                java,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self.config_path),
            ],
            "formatting Kafka storage",
        )

    def _answers(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000})
        metadata = admin.list_topics(timeout=2)
        return len(metadata.brokers) >= 1

    def up(self) -> None:
        if self.pid() is None:
            require_free_port(self.settings.kafka_port, "LOGISTREAM_KAFKA_PORT")
            java = prereqs.java()
            classpath = str(prereqs.kafka_libs(self.settings) / "*")
            self.root.mkdir(parents=True, exist_ok=True)
            self.config_path.write_text(server_properties(self.settings, self.data_dir))
            self._format_storage_once(java, classpath)
            heap = self.settings.kafka_heap
            start_detached(
                [
                    java,
                    f"-Xms{heap}",
                    f"-Xmx{heap}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(self.config_path),
                ],
                self.log_path,
                self.pid_path,
            )
        wait_until(
            lambda: port_open(self.settings.kafka_port) and self._answers(),
            START_TIMEOUT_S,
            f"Kafka did not answer on {self.bootstrap} within {START_TIMEOUT_S:.0f} s; "
            f"see {self.log_path}",
        )
        ensure_topics(self.settings, pipeline_topics(self.settings))

    def down(self) -> None:
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, timeout_s=60.0)
        self.pid_path.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        return ServiceStatus(
            self.name,
            "running" if pid else "stopped",
            self.bootstrap,
            pid,
            str(self.log_path),
        )
