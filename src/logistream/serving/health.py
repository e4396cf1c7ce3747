"""The pipeline health strip: is the speed layer alive, is the bridge archiving (pure logic).

Silence must never look like a quiet fleet: no heartbeat, or an old one, is red.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from logistream.live_views import Heartbeat
from logistream.reads.heartbeats import BridgeBeat
from logistream.serving.live_data import speed_layer_health

# The bridge writes a heartbeat with every commit and every 5 s when idle.
STALE_BRIDGE_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    service: str
    ok: bool
    line: str


def speed_health(heartbeats: Sequence[Heartbeat]) -> ServiceHealth:
    ok, line = speed_layer_health(list(heartbeats))
    return ServiceHealth("speed", ok, line)


def bridge_health(beats: Sequence[BridgeBeat], now: float) -> ServiceHealth:
    if not beats:
        return ServiceHealth(
            "bridge", False, "Bridge: no heartbeat — it is not running; the archive is not growing."
        )
    age = now - max(b.last_commit_at for b in beats)
    if age > STALE_BRIDGE_S:
        return ServiceHealth(
            "bridge",
            False,
            f"Bridge stalled: last commit {age:.0f} s ago; the archive is not growing.",
        )
    lags = [b.lag_messages for b in beats if b.lag_messages is not None]
    lag = f", lag {max(lags)} messages" if lags else ""
    return ServiceHealth("bridge", True, f"Bridge OK: {len(beats)} process(es){lag}.")


def store_down(store: str, error: BaseException) -> ServiceHealth:
    """A store that does not answer is itself a red light."""
    return ServiceHealth(
        store.lower(),
        False,
        f"{store} is not answering ({error.__class__.__name__}); this comes back by itself "
        "when it is back.",
    )


def overall(services: Sequence[ServiceHealth]) -> bool:
    return all(s.ok for s in services)
