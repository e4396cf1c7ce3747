"""The shape of a local stack, fixed at its first ``up`` and kept in ``<home>/stack.json``.

How many Kafka nodes, on which ports, and whether the stack is secure: ``status`` and ``down``
read it, so they act on what ``up`` started whatever the command line says now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from logistream.config import Settings
from logistream.errors import StackError
from logistream.stack.process import free_port, port_open

LAYOUT_FILE = "stack.json"


@dataclass(frozen=True, slots=True)
class KafkaNodeSpec:
    node_id: int
    port: int
    controller_port: int


@dataclass(frozen=True, slots=True)
class StackLayout:
    brokers: int
    secure: bool
    nodes: tuple[KafkaNodeSpec, ...]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    @staticmethod
    def path(settings: Settings) -> Path:
        return settings.home / LAYOUT_FILE

    @classmethod
    def single(cls, settings: Settings, secure: bool = False) -> StackLayout:
        """One node on the settings' ports: the default stack, exactly as before clusters."""
        node = KafkaNodeSpec(1, settings.kafka_port, settings.kafka_controller_port)
        return cls(brokers=1, secure=secure, nodes=(node,))

    @classmethod
    def stored(cls, settings: Settings) -> StackLayout | None:
        """The layout the home was set up with; a home from before layouts is one plain node."""
        path = cls.path(settings)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            if (settings.home / "kafka" / "data" / "meta.properties").exists():
                return cls.single(settings)
            return None
        except (OSError, ValueError) as error:
            raise StackError(f"{path}: unreadable stack layout ({error}); remove it") from error
        brokers, secure = int(data["brokers"]), bool(data["secure"])
        if brokers == 1:
            # One node always follows LOGISTREAM_KAFKA_PORT, as the default stack always did.
            return cls.single(settings, secure)
        nodes = tuple(KafkaNodeSpec(int(n[0]), int(n[1]), int(n[2])) for n in data["nodes"])
        return cls(brokers=brokers, secure=secure, nodes=nodes)

    @classmethod
    def resolve(
        cls, settings: Settings, brokers: int | None = None, secure: bool | None = None
    ) -> StackLayout:
        """The stored layout, checked against ``brokers`` and ``secure``; else a new one.

        ``LOGISTREAM_KAFKA_BROKERS`` only shapes a new home (``to_env`` passes it to every
        child process, so it cannot tell a choice from the default).
        """
        stored = cls.stored(settings)
        if stored is not None:
            if brokers is not None and brokers != stored.brokers:
                raise StackError(
                    f"the stack in {settings.home} was set up with {stored.brokers} Kafka "
                    f"broker(s), not {brokers} (--brokers): run "
                    "`logistream stack down`, then use another LOGISTREAM_HOME or remove that one"
                )
            if secure and not stored.secure:
                raise StackError(
                    f"the stack in {settings.home} was set up without --secure: run "
                    "`logistream stack down`, then use another LOGISTREAM_HOME or remove that one"
                )
            return stored
        count = brokers or settings.kafka_brokers
        if count == 1:
            return cls.single(settings, bool(secure))
        return cls(brokers=count, secure=bool(secure), nodes=_choose_ports(settings, count))

    def save(self, settings: Settings) -> None:
        settings.home.mkdir(parents=True, exist_ok=True)
        data = {
            "brokers": self.brokers,
            "secure": self.secure,
            "nodes": [[n.node_id, n.port, n.controller_port] for n in self.nodes],
        }
        self.path(settings).write_text(json.dumps(data, indent=2) + "\n")


def _choose_ports(settings: Settings, count: int) -> tuple[KafkaNodeSpec, ...]:
    """Node 1 on the settings' ports, node i two ports further on each, or any free port."""
    taken: set[int] = set()

    def pick(candidate: int, first: bool) -> int:
        # Node 1's ports are the user's choice: a busy one is reported when it starts.
        port = candidate
        while not first and (port in taken or port > 65535 or port_open(port)):
            port = free_port()
        taken.add(port)
        return port

    nodes = []
    for index in range(count):
        broker = pick(settings.kafka_port + 2 * index, index == 0)
        controller = pick(settings.kafka_controller_port + 2 * index, index == 0)
        nodes.append(KafkaNodeSpec(index + 1, broker, controller))
    return tuple(nodes)
