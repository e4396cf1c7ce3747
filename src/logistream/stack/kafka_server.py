"""Apache Kafka 4.x in KRaft mode from its Maven Central jars: one node, or a local cluster.

Each node is one JVM that is both broker and controller. One node (the default) keeps its files
in ``<home>/kafka`` and a dynamic quorum of itself; ``stack up --brokers 3`` runs three nodes in
``<home>/kafka/node-<id>`` with a static quorum of all three, replication factor 3 and
``min.insync.replicas=2`` for every topic, internal ones included. ``--secure`` adds SASL/SCRAM
and ACLs (``logistream.stack.security``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from logistream.config import Settings
from logistream.errors import StackError
from logistream.kafka import ensure_topics, make_admin, pipeline_topics
from logistream.shipments.publish import ensure_topic as ensure_shipments_topic
from logistream.stack import prereqs, security
from logistream.stack.layout import KafkaNodeSpec, StackLayout
from logistream.stack.process import (
    pid_alive,
    port_open,
    read_pid,
    require_free_port,
    run_checked,
    start_detached,
    stop_pid,
    wait_until,
)
from logistream.stack.secrets import ensure_secrets
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


def cluster_properties(
    settings: Settings, layout: StackLayout, node: KafkaNodeSpec, data_dir: Path
) -> str:
    """server.properties of one node of a multi-node cluster (static quorum of all nodes)."""
    host = "127.0.0.1"
    replicas = min(layout.brokers, 3)
    min_isr = max(1, replicas - 1)
    voters = ",".join(f"{n.node_id}@{host}:{n.controller_port}" for n in layout.nodes)
    return "\n".join(
        [
            "process.roles=broker,controller",
            f"node.id={node.node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://{host}:{node.port},CONTROLLER://{host}:{node.controller_port}",
            f"advertised.listeners=PLAINTEXT://{host}:{node.port},"
            f"CONTROLLER://{host}:{node.controller_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            f"num.partitions={settings.partitions}",
            # Every topic, internal ones too, survives one node down and still takes acks=all.
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={min_isr}",
            f"offsets.topic.replication.factor={replicas}",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            "unclean.leader.election.enable=false",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "log.retention.hours=168",
            # Two cores shared by three JVMs and the pipeline: fewer threads each.
            "num.network.threads=2",
            "num.io.threads=2",
            "background.threads=2",
            "",
        ]
    )


def _secure(properties: str, admin_password: str) -> str:
    """The same node with SASL on both listeners and the ACL authorizer."""
    lines = properties.rstrip("\n").split("\n")
    swapped = [
        line.replace("PLAINTEXT://", "SASL_PLAINTEXT://")
        .replace(
            "inter.broker.listener.name=PLAINTEXT", "inter.broker.listener.name=SASL_PLAINTEXT"
        )
        .replace(
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,"
            "CONTROLLER:SASL_PLAINTEXT",
        )
        for line in lines
    ]
    extra = security.broker_security_properties("SASL_PLAINTEXT", admin_password)
    return "\n".join([*swapped, *extra, ""])


def new_cluster_id() -> str:
    """A random Kafka cluster id (22 characters of URL-safe base64).

    Like Kafka's own Uuid.randomUuid, never one starting with "-": StorageTool's argument
    parser would take it for an option (``-t -x…`` fails at format time).
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


class KafkaNode:
    """One Kafka JVM (broker and controller) of the local stack."""

    def __init__(self, cluster: KafkaCluster, spec: KafkaNodeSpec, root: Path) -> None:
        self.cluster = cluster
        self.spec = spec
        self.node_id = spec.node_id
        self.root = root
        self.data_dir = root / "data"
        self.config_path = root / "server.properties"
        self.pid_path = root / "kafka.pid"
        self.log_path = root / "kafka.log"

    @property
    def name(self) -> str:
        return "kafka" if self.cluster.layout.brokers == 1 else f"kafka-{self.node_id}"

    @property
    def port(self) -> int:
        return self.spec.port

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.spec.port}"

    def pid(self) -> int | None:
        return read_pid(self.pid_path, str(self.config_path))

    def running(self) -> bool:
        return self.pid() is not None

    def properties(self) -> str:
        layout = self.cluster.layout
        if layout.brokers == 1:
            text = server_properties(self.cluster.settings, self.data_dir)
        else:
            text = cluster_properties(self.cluster.settings, layout, self.spec, self.data_dir)
        if layout.secure:
            text = _secure(text, self.cluster.admin_password())
        return text

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Secure: the file holds the admin's password.
        descriptor = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.properties())
        self.config_path.chmod(0o600)

    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def cluster_id(self) -> str | None:
        try:
            text = (self.data_dir / "meta.properties").read_text()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
        return None

    def format(self, cluster_id: str) -> None:
        if self.formatted():
            return
        argv = [
            prereqs.java(),
            "-cp",
            self.cluster.classpath(),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.config_path),
        ]
        if self.cluster.layout.brokers == 1:
            argv.append("--standalone")
        if self.cluster.layout.secure:
            argv += security.format_scram_argument(self.cluster.admin_password())
        run_checked(argv, f"formatting Kafka storage of node {self.node_id}")

    def start(self, wait: bool = True) -> None:
        """Start this node's JVM if it is not running (its storage must be formatted)."""
        if self.pid() is None:
            setting = (
                "LOGISTREAM_KAFKA_PORT"
                if self.node_id == 1
                else f"the node {self.node_id} entry of {self.cluster.layout_path}"
            )
            require_free_port(self.spec.port, setting)
            self.write_config()
            heap = self.cluster.settings.kafka_heap
            start_detached(
                [
                    prereqs.java(),
                    f"-Xms{heap}",
                    f"-Xmx{heap}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp",
                    self.cluster.classpath(),
                    "kafka.Kafka",
                    str(self.config_path),
                ],
                self.log_path,
                self.pid_path,
            )
        if wait:
            wait_until(
                lambda: port_open(self.spec.port),
                START_TIMEOUT_S,
                f"Kafka node {self.node_id} did not listen on {self.bootstrap} within "
                f"{START_TIMEOUT_S:.0f} s; see {self.log_path}",
            )

    def kill(self) -> None:
        """SIGKILL the JVM (a crash: no controlled shutdown) and wait until it is gone."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM (controlled shutdown), SIGKILL after ``timeout_s``."""
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, timeout_s=timeout_s)
        self.pid_path.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        return ServiceStatus(
            self.name, "running" if pid else "stopped", self.bootstrap, pid, str(self.log_path)
        )


class KafkaCluster:
    """The stack's Kafka: one node by default, or ``layout.brokers`` nodes on this machine."""

    name = "kafka"

    def __init__(self, settings: Settings, layout: StackLayout | None = None) -> None:
        self.settings = settings
        self.layout = layout or StackLayout.single(settings)
        self.root = (settings.home / "kafka").resolve()
        self.layout_path = StackLayout.path(settings)
        if self.layout.brokers == 1:
            roots = [self.root]  # where the single-node stack always kept its files
        else:
            roots = [self.root / f"node-{spec.node_id}" for spec in self.layout.nodes]
        self.nodes = [
            KafkaNode(self, spec, root) for spec, root in zip(self.layout.nodes, roots, strict=True)
        ]

    # ---- addresses and clients -----------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return self.layout.bootstrap

    def node(self, node_id: int) -> KafkaNode:
        """The node with this id (1-based, as in ``node.id`` and partition leaders)."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise StackError(f"no Kafka node {node_id}: this stack has {len(self.nodes)}")

    def admin_password(self) -> str:
        name = security.kafka_secret(security.KAFKA_ADMIN)
        return ensure_secrets(self.settings, security.secure_secret_names())[name]

    def client_settings(self, user: str | None = None) -> Settings:
        """Settings whose Kafka clients reach this cluster: as ``user`` (secure), else admin."""
        if not self.layout.secure:
            return self.settings.model_copy(update={"kafka_bootstrap": self.bootstrap})
        self.admin_password()  # creates the secrets on first use
        return security.kafka_client_settings(
            self.settings, user or security.KAFKA_ADMIN, self.bootstrap
        )

    def admin(self, **overrides: Any) -> Any:
        """An AdminClient of the stack's admin (super user when secure)."""
        return make_admin(self.client_settings(), **overrides)

    def classpath(self) -> str:
        return str(prereqs.kafka_libs(self.settings) / "*")

    # ---- partitions ------------------------------------------------------------------------

    def partition(self, topic: str, partition: int, timeout_s: float = 10.0) -> Any:
        """``confluent_kafka`` PartitionMetadata: ``.leader``, ``.replicas``, ``.isrs``."""
        metadata = self.admin().list_topics(topic, timeout=timeout_s)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or partition not in found.partitions:
            raise StackError(f"no partition {topic}[{partition}] on {self.bootstrap}")
        return found.partitions[partition]

    def leader(self, topic: str, partition: int, timeout_s: float = 10.0) -> int:
        """Node id of the partition's leader (-1 while there is none)."""
        return int(self.partition(topic, partition, timeout_s).leader)

    def wait_in_sync(self, topics: list[str], timeout_s: float = 120.0) -> None:
        """Return once every partition of ``topics`` has all its replicas in the ISR."""

        def in_sync() -> bool:
            metadata = self.admin().list_topics(timeout=10)
            for name in topics:
                parts = metadata.topics[name].partitions.values()
                if not parts or any(set(p.isrs) != set(p.replicas) for p in parts):
                    return False
            return True

        wait_until(in_sync, timeout_s, f"partitions of {topics} not in sync in {timeout_s:.0f} s")

    # ---- lifecycle ---------------------------------------------------------------------------

    def _answers(self) -> bool:
        admin = self.admin(**{"socket.timeout.ms": 2000})
        metadata = admin.list_topics(timeout=2)
        return len(metadata.brokers) >= len(self.nodes)

    def _format(self) -> None:
        cluster_id = next((n.cluster_id() for n in self.nodes if n.cluster_id()), None)
        cluster_id = cluster_id or new_cluster_id()
        for node in self.nodes:
            if not node.formatted():
                node.write_config()
                node.format(cluster_id)

    def up(self) -> None:
        if self.layout.secure:
            ensure_secrets(self.settings, security.secure_secret_names())
        if any(not node.running() for node in self.nodes):
            prereqs.java()
            self.classpath()
            self.root.mkdir(parents=True, exist_ok=True)
            self._format()
            # Start all before waiting: a static quorum needs a majority to elect a controller.
            for node in self.nodes:
                node.start(wait=False)
        wait_until(
            lambda: all(port_open(n.port) for n in self.nodes) and self._answers(),
            START_TIMEOUT_S,
            f"Kafka did not answer on {self.bootstrap} within {START_TIMEOUT_S:.0f} s; "
            f"see {', '.join(str(n.log_path) for n in self.nodes)}",
        )
        if self.layout.secure:
            security.apply_kafka_security(self.admin(), self.settings)
        ensure_topics(self.client_settings(), pipeline_topics(self.settings))
        ensure_shipments_topic(self.client_settings())

    def down(self) -> None:
        """Stop every node at once: stopped one by one, the last would wait for a quorum."""
        running = [(node, node.pid()) for node in self.nodes]
        for _, pid in running:
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        for node, pid in running:
            if pid is not None:
                stop_pid(pid, timeout_s=60.0)
            node.pid_path.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        """One line for the whole cluster (running only when every node runs)."""
        nodes = [node.status() for node in self.nodes]
        if len(nodes) == 1:
            return nodes[0]
        running = all(n.state == "running" for n in nodes)
        return ServiceStatus(self.name, "running" if running else "stopped", self.bootstrap)

    def statuses(self) -> list[ServiceStatus]:
        """One line per node."""
        return [node.status() for node in self.nodes]


# The single-node server, as the rest of the code and older tests know it.
KafkaServer = KafkaCluster
