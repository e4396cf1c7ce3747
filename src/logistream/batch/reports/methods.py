"""The methods a trip report quotes, filled from the very constants and thresholds its figures
were computed with: ΔH/R from the MKT maths (:mod:`logistream.coldchain.mkt`), the limits,
delays and budget from the cargo profile, the time base and gap threshold from the batch
parameters (the rules file's), and the digest's format. The names and sentences themselves are
the layer-free table in :mod:`logistream.figure_names`, shared with the shipment report.
"""

from __future__ import annotations

from typing import Any

from logistream.batch.reports import digest
from logistream.coldchain import mkt
from logistream.coldchain.params import BatchParams
from logistream.figure_names import MethodParams, methods_json
from logistream.registry import CargoProfile, Registry


def h_over_r_k(profile: CargoProfile) -> float | None:
    """ΔH/R in kelvin as the MKT maths takes it (``mkt.mkt_weighted``); None: no MKT."""
    if not profile.mkt_enabled:
        return None
    # Read through the module at call time, so the text follows the constant the maths uses.
    return profile.activation_energy_kj_mol * 1000.0 / mkt.GAS_CONSTANT_J_MOL_K


def method_params(profile: CargoProfile, params: BatchParams) -> MethodParams:
    return MethodParams(
        cargo_label=profile.label,
        low_c=profile.low_c,
        high_c=profile.high_c,
        hard_low_c=profile.hard_low_c,
        hard_high_c=profile.hard_high_c,
        tor_budget_s=profile.tor_budget_s,
        hysteresis_c=profile.hysteresis_c,
        alarm_delay_high_s=profile.alarm_delay_high_s,
        alarm_delay_low_s=profile.alarm_delay_low_s,
        defrost_allowance_c=profile.defrost_allowance_c,
        defrost_max_s=profile.defrost_max_s,
        h_over_r_k=h_over_r_k(profile),
        activation_kj_mol=profile.activation_energy_kj_mol,
        hold_max_s=params.hold_max_s,
        gap_s=params.gap_s,
        critical_confirm_readings=params.critical_confirm_readings,
        critical_clear_s=params.critical_clear_s,
        sensor_min_c=profile.sensor_min_c,
        sensor_max_c=profile.sensor_max_c,
        max_rate_c_per_min=profile.max_rate_c_per_min,
        max_rate_door_c_per_min=profile.max_rate_door_c_per_min,
        rate_slack_c=profile.rate_slack_c,
        max_step_kmh=params.max_step_kmh,
        gps_slack_km=params.gps_slack_km,
        digest_format=digest.DIGEST_FORMAT,
    )


def trip_methods(registry: Registry, cargo: str | None, params: BatchParams) -> dict[str, Any]:
    """The report's ``methods`` object for a trip of ``cargo`` (unknown: the default profile,
    as the batch views take it)."""
    profile = registry.cargo.get(cargo or "default") or registry.cargo["default"]
    return methods_json(method_params(profile, params))
