"""Pure and layer-free: how long to wait before retrying a store or broker that is down."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Exponential delays with jitter, capped; :meth:`reset` after a success."""

    initial_s: float = 0.2
    cap_s: float = 10.0
    factor: float = 2.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random)
    _attempt: int = 0

    def next_delay(self) -> float:
        base = min(self.cap_s, self.initial_s * self.factor**self._attempt)
        self._attempt += 1
        return base * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0))

    @property
    def attempts(self) -> int:
        return self._attempt

    def reset(self) -> None:
        self._attempt = 0
