"""The cyclic garbage collector tuned for a gateway process, once it has started.

Profiles of both gateways under their benchmarks showed the collector as a large cost: a
fifth of the MQTT gateway's time, and full collections of up to 0.8 s in the Teltonika gateway
holding 5,000 connections (its p99 reply time). A reading's objects are freed by reference
counting as soon as Kafka acknowledges it; what the collector kept scanning was start-up's
objects (the registry, the imported libraries) and the long-lived connections. So start-up's
objects are set aside for good and a collection waits for many more objects made than freed
(cycles still reach that threshold and are collected).
"""

from __future__ import annotations

import gc
from typing import Final

FIRST_THRESHOLD: Final = 50_000
"""The collector's first threshold in a gateway process (Python's default: 700)."""


def quiet_collector() -> None:
    """Collect once, freeze what survives (start-up's objects), and raise the first threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(FIRST_THRESHOLD, *gc.get_threshold()[1:])
