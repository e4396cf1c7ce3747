"""Mean Kinetic Temperature, USP <1079.2>, time-weighted.

    MKT = (ΔH/R) / -ln( Σ wᵢ·exp(-ΔH / (R·Tᵢ)) / Σ wᵢ )      (T in kelvin)

USP's form has equal weights for equally spaced readings; here each reading weighs the time it
stands for (:mod:`timeline`), so uneven sampling does not bias the result. Time not covered by
any reading (gaps) is left out and reported beside the figure, never guessed. MKT is not
computed for frozen products (profile ``mkt = false``): the Arrhenius model of degradation in
solution does not hold for frozen goods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from logistream.coldchain.timeline import holds

GAS_CONSTANT_J_MOL_K: Final = 8.3144
"""USP <1079.2>: with ΔH = 83.144 kJ/mol, ΔH/R is 10,000 K."""
ZERO_C_IN_K: Final = 273.15
DEFAULT_ACTIVATION_KJ_MOL: Final = 83.144


@dataclass(frozen=True, slots=True)
class MktResult:
    mkt_c: float | None
    """None: no covered time, or not computed for this product."""
    covered_s: float
    gap_s: float
    """Time between the first and last reading with no reading standing for it."""


def mkt_weighted(
    temps_c: Sequence[float],
    weights_s: Sequence[float],
    activation_kj_mol: float = DEFAULT_ACTIVATION_KJ_MOL,
) -> float | None:
    """MKT in °C of temperatures each standing for a weight; None when the weights sum to 0."""
    if len(temps_c) != len(weights_s):
        raise ValueError("one weight per temperature")
    h_over_r = activation_kj_mol * 1000.0 / GAS_CONSTANT_J_MOL_K
    total = sum(weights_s)
    if total <= 0:
        return None
    # Relative to the hottest reading so the exponentials stay near 1 (no underflow).
    t_ref = max(t + ZERO_C_IN_K for t, w in zip(temps_c, weights_s, strict=True) if w > 0)
    acc = sum(
        w * math.exp(-h_over_r * (1.0 / (t + ZERO_C_IN_K) - 1.0 / t_ref))
        for t, w in zip(temps_c, weights_s, strict=True)
        if w > 0
    )
    inv = 1.0 / t_ref - math.log(acc / total) / h_over_r
    return 1.0 / inv - ZERO_C_IN_K


def mkt_of_series(
    times_s: Sequence[float],
    temps_c: Sequence[float],
    *,
    hold_max_s: float,
    activation_kj_mol: float = DEFAULT_ACTIVATION_KJ_MOL,
    enabled: bool = True,
) -> MktResult:
    """MKT of readings (any order) with sample-and-hold weights, and the gaps left out."""
    order = sorted(range(len(times_s)), key=lambda i: times_s[i])
    times = [times_s[i] for i in order]
    temps = [temps_c[i] for i in order]
    hs = holds(times, hold_max_s)
    covered = sum(h.weight_s for h in hs)
    gap = sum(h.uncovered_s for h in hs)
    if not enabled:
        return MktResult(None, covered, gap)
    return MktResult(mkt_weighted(temps, [h.weight_s for h in hs], activation_kj_mol), covered, gap)
