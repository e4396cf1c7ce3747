"""Moved to :mod:`logistream.coldchain.params` (layer-free, so the shipments side computes
with the same maths); re-exported here for the batch layer's existing imports."""

from logistream.coldchain.params import DEFAULT_PARAMS, BatchParams, params_from_rules

__all__ = ["DEFAULT_PARAMS", "BatchParams", "params_from_rules"]
