"""Moved to :mod:`logistream.coldchain.mkt` (layer-free, so the shipments side computes
with the same maths); re-exported here for the batch layer's existing imports."""

from logistream.coldchain.mkt import (
    DEFAULT_ACTIVATION_KJ_MOL,
    GAS_CONSTANT_J_MOL_K,
    ZERO_C_IN_K,
    MktResult,
    mkt_of_series,
    mkt_weighted,
)

__all__ = [
    "DEFAULT_ACTIVATION_KJ_MOL",
    "GAS_CONSTANT_J_MOL_K",
    "ZERO_C_IN_K",
    "MktResult",
    "mkt_of_series",
    "mkt_weighted",
]
