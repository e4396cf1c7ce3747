"""Moved to :mod:`logistream.coldchain.timeline` (layer-free, so the shipments side computes
with the same maths); re-exported here for the batch layer's existing imports."""

from logistream.coldchain.timeline import Hold, holds

__all__ = ["Hold", "holds"]
