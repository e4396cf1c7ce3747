"""Moved to :mod:`logistream.coldchain.compliance` (layer-free, so the shipments side computes
with the same maths); re-exported here for the batch layer's existing imports."""

from logistream.coldchain.compliance import Compliance, Verdict, trip_compliance, verdict

__all__ = ["Compliance", "Verdict", "trip_compliance", "verdict"]
