"""Every figure a temperature report shows, named in full with its method, as an auditor reads it.

One table for the trip report and the shipment report (and any screen that labels the same
figures), so a figure is called the same everywhere: a short name for tight table cells
("MKT"), a full name for first use ("Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R =
10,000 K)") and a one-sentence method that quotes the parameters actually used.

Layer-free and pure: the numbers come in as :class:`MethodParams`, filled by whoever computed
the figures (the batch layer, from its MKT constants, its thresholds and the cargo profile), so
the text can never quote a parameter the maths did not use. A report stores the methods it was
issued with, since a cargo profile may change after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MethodParams:
    """The parameters the figures of one report were computed with (°C, seconds)."""

    cargo_label: str
    low_c: float
    high_c: float
    hard_low_c: float | None
    hard_high_c: float | None
    tor_budget_s: float
    hysteresis_c: float
    alarm_delay_high_s: float
    alarm_delay_low_s: float
    defrost_allowance_c: float
    defrost_max_s: float
    h_over_r_k: float | None
    """ΔH/R of the MKT in kelvin; None when MKT is not computed for the product (frozen)."""
    activation_kj_mol: float
    hold_max_s: float
    """The longest a reading stands for the air (sample-and-hold cap)."""
    gap_s: float
    """Readings further apart than this are a data gap."""
    critical_confirm_readings: int
    critical_clear_s: float
    """A critical ends no sooner than this after its last reading beyond the hard limit."""
    sensor_min_c: float
    sensor_max_c: float
    max_rate_c_per_min: float
    max_rate_door_c_per_min: float
    rate_slack_c: float
    max_step_kmh: float
    gps_slack_km: float
    digest_format: str


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    """The figure's field name in the report's JSON and CSV (``mkt_c``, ``tor_s``...)."""
    short: str
    full: str
    method: str

    def as_json(self) -> dict[str, str]:
        return {"short": self.short, "full": self.full, "method": self.method}


def _n(value: float) -> str:
    """A parameter as people write it: 2, 8.5, −0.3, 10,000 (float noise rounded away)."""
    value = round(float(value), 6)
    text = f"{value:,.0f}" if value.is_integer() else f"{value:g}"
    return text.replace("-", "−")


def _min(seconds: float) -> str:
    return f"{_n(seconds / 60)} min"


def range_text(p: MethodParams) -> str:
    """The allowed range as written in a method: "2–8 °C", "−25 to −18 °C"."""
    dash = "–" if p.low_c >= 0 else " to "  # "−25–−18" misreads
    return f"{_n(p.low_c)}{dash}{_n(p.high_c)} °C"


def _hard_limits(p: MethodParams) -> str:
    limits = [
        f"{word} {_n(v)} °C"
        for word, v in (("below", p.hard_low_c), ("above", p.hard_high_c))
        if v is not None
    ]
    return " or ".join(limits) if limits else "none set for this cargo"


def _mkt(p: MethodParams) -> Figure:
    if p.h_over_r_k is None:
        return Figure(
            "mkt_c",
            "MKT",
            "Mean kinetic temperature (MKT, USP <1079.2>)",
            f"Not computed for this cargo ({p.cargo_label}): the Arrhenius model of "
            "degradation behind MKT does not hold for frozen goods.",
        )
    return Figure(
        "mkt_c",
        "MKT",
        f"Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R = {_n(p.h_over_r_k)} K)",
        "MKT = (ΔH/R) / −ln(Σ w·exp(−(ΔH/R)/T) / Σ w), T in kelvin, with ΔH = "
        f"{_n(p.activation_kj_mol)} kJ/mol (ΔH/R = {_n(p.h_over_r_k)} K), over the plausible "
        "readings, each weighted by the time it stands for (until the next reading, at most "
        f"{_min(p.hold_max_s)}; a sensor fault's time counts for the last plausible reading); "
        "time no reading covers is left out, not guessed.",
    )


def figures(p: MethodParams) -> tuple[Figure, ...]:
    """Every figure of a temperature report, in the order a report lists them."""
    rng = range_text(p)
    hold = _min(p.hold_max_s)
    budget = _min(p.tor_budget_s)
    spent = (
        f"reaching the {budget} budget fails the trip"
        if p.tor_budget_s > 0
        else "no budget is set for this cargo"
    )
    mkt_review = "" if p.h_over_r_k is None else f", MKT above {_n(p.high_c)} °C"
    return (
        _mkt(p),
        Figure(
            "mean_c",
            "Mean",
            "Time-weighted mean temperature",
            "The mean of the plausible readings, each weighted by the time it stands for "
            f"(until the next reading, at most {hold}; a sensor fault's time counts for the "
            "last plausible reading).",
        ),
        Figure(
            "min_c",
            "Min",
            "Lowest temperature",
            "The lowest plausible reading (sensor faults left out; a trip with no plausible "
            "reading shows its raw values).",
        ),
        Figure(
            "max_c",
            "Max",
            "Highest temperature",
            "The highest plausible reading (sensor faults left out; a trip with no plausible "
            "reading shows its raw values).",
        ),
        Figure(
            "tor_s",
            "TOR",
            f"Time out of range (TOR, cumulative minutes outside {rng}, against a budget of "
            f"{budget})",
            f"The sum, over all excursions, of the time each reading outside {rng} stands for "
            f"(until the next reading, at most {hold}; during an allowed defrost up to "
            f"{_n(p.high_c + p.defrost_allowance_c)} °C is inside); {spent}.",
        ),
        Figure(
            "tor_budget_s",
            "TOR budget",
            f"Time-out-of-range budget ({budget} per trip)",
            f"The time outside {rng} the {p.cargo_label} cargo profile allows per trip, summed "
            "over all its excursions.",
        ),
        Figure(
            "excursions",
            "Excursion",
            f"Excursion (a continuous stretch outside {rng}; it alarms after "
            f"{_min(p.alarm_delay_high_s)} above or {_min(p.alarm_delay_low_s)} below)",
            "From the first plausible reading beyond a limit to the first back inside it by the "
            f"hysteresis of {_n(p.hysteresis_c)} °C; during a flagged defrost the upper limit is "
            f"{_n(p.high_c + p.defrost_allowance_c)} °C for at most {_min(p.defrost_max_s)}.",
        ),
        Figure(
            "hard_limit_passed",
            "Hard limit",
            f"Hard limit passed (critical excursion: {_hard_limits(p)})",
            f"Any plausible reading beyond a hard limit ({_hard_limits(p)}) fails the trip; "
            f"its critical alarm is due once {p.critical_confirm_readings} plausible readings "
            f"beyond it were seen, and ends once as many are back inside it by the hysteresis, "
            f"at least {_min(p.critical_clear_s)} after the last reading beyond.",
        ),
        Figure(
            "sensor_faults",
            "Sensor fault",
            "Sensor fault (a reading the cargo air cannot have produced)",
            f"A reading outside {_n(p.sensor_min_c)} to {_n(p.sensor_max_c)} °C, or further "
            f"from the last plausible reading than {_n(p.max_rate_c_per_min)} °C/min "
            f"({_n(p.max_rate_door_c_per_min)} °C/min with the door open) plus "
            f"{_n(p.rate_slack_c)} °C of probe noise; it stands for the last plausible "
            "temperature and enters neither excursions, TOR nor MKT.",
        ),
        Figure(
            "gap_s",
            "Data gaps",
            f"Data gaps (readings more than {_min(p.gap_s)} apart) and uncovered time",
            f"A gap is a silence longer than {_min(p.gap_s)}; a reading stands for the air for "
            f"at most {hold}, and the rest of a longer silence is uncovered time, left out of "
            "TOR and MKT.",
        ),
        Figure(
            "defrost_s",
            "Defrost",
            "Defrost time (flagged by the reefer)",
            "The time the readings flagged as defrost stand for; the upper limit is widened "
            f"by {_n(p.defrost_allowance_c)} °C for at most {_min(p.defrost_max_s)} of it.",
        ),
        Figure(
            "verdict",
            "Verdict",
            "Trip verdict (pass, review or fail)",
            f"Fail: a hard limit passed or TOR reached the {budget} budget; review: any "
            f"excursion or TOR within the budget{mkt_review}, or at least {budget} without "
            "readings; pass otherwise (several probes: the worst probe's).",
        ),
        Figure(
            "distance_km",
            "Distance",
            "Distance driven (GPS)",
            "The sum of the great-circle (haversine) steps between consecutive positions; a "
            f"step faster than {_n(p.max_step_kmh)} km/h (beyond {_n(p.gps_slack_km)} km of "
            "GPS noise) is a jump (a bad fix), not driving, and adds nothing.",
        ),
        Figure(
            "digest",
            "Digest",
            f"Archive digest (SHA-256, format {p.digest_format})",
            "SHA-256 over the trip's archived readings in a documented canonical form, so "
            "anyone holding the archive can recompute it; a late reading changes it.",
        ),
    )


def figure_table(p: MethodParams) -> dict[str, Figure]:
    """The figures by key."""
    return {f.key: f for f in figures(p)}


def methods_json(p: MethodParams) -> dict[str, Any]:
    """The ``methods`` object of a report: each figure's names and method, by key."""
    return {f.key: f.as_json() for f in figures(p)}
