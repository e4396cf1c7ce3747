"""What every local server of the stack offers: start, stop, and say how it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

State = Literal["running", "stopped", "external"]


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    state: State
    address: str
    """``host:port`` for Kafka, a URL without its password for PostgreSQL and Redis."""
    pid: int | None = None
    log: str | None = None


class LocalService(Protocol):
    name: str

    def up(self) -> None:
        """Start the server if it is not running, and return once it answers."""

    def down(self) -> None:
        """Stop the server this stack started, cleanly; do nothing if it is not running."""

    def status(self) -> ServiceStatus: ...
