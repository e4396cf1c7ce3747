"""A lot's temperature figures over its carriage (loading to handover), from its probes' readings:
the :class:`~logistream.shipments.verdict.LotFigures` the release verdict and the proof of
delivery's summary take. Pure.

The maths is the trip views' own (:mod:`logistream.coldchain`: sample-and-hold time base,
plausibility, excursions with hysteresis and alarm delay, time-weighted MKT of USP <1079.2>,
sensor-fault runs), with the same thresholds (the rules file's hold cap and critical
confirmation), so a lot and the trip that carried it can never disagree on a reading.

Choices:
- Only the readings inside the carriage count (``start <= t <= end``): the lot was not on the
  truck before its loading nor after its handover.
- Each probe is judged on its own readings, as a trip's probes are (``batch.views.probes``); the
  lot takes, over the probes that read, the lowest minimum and the highest maximum, the highest
  MKT, the longest time out of range, the longest sensor-fault time and the lowest coverage
  (each probe measures the same air: time out of range is not added across probes, the worst
  probe's counts); excursions are counted over all probes, critical ones (a hard limit passed)
  apart, as the trip verdict counts them.
- Sensor-fault time is the sum of the runs of implausible readings (start of a run to the next
  plausible reading, :func:`~logistream.coldchain.excursions.sensor_faults`).
- Coverage is the time the readings stand for (capped holds) over the carriage's length; a
  carriage of no length is covered when it has a reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logistream.coldchain.compliance import Compliance, trip_compliance
from logistream.coldchain.excursions import Sample, SensorFault, classify, sensor_faults
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.registry import CargoProfile
from logistream.shipments.verdict import LotFigures


@dataclass(frozen=True, slots=True)
class LotReading:
    """One archived temperature reading of a probe carrying the lot."""

    t: float
    """Event time, epoch s."""
    temp: float
    probe_id: str = ""
    """'' for a reading that names no probe (a truck's single probe)."""
    defrost: bool = False
    door_open: bool = False
    event_id: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class ProbeFigures:
    """One probe's compliance over the carriage, and its sensor-fault runs."""

    probe_id: str
    compliance: Compliance
    faults: tuple[SensorFault, ...]

    @property
    def fault_s(self) -> float:
        return sum(f.end - f.start for f in self.faults)


@dataclass(frozen=True, slots=True)
class LotAnalysis:
    """The figures and what they come from (the shipment report shows both)."""

    figures: LotFigures
    probes: tuple[ProbeFigures, ...]


def _sample(r: LotReading) -> Sample:
    return Sample(r.t, r.temp, r.defrost, r.event_id, r.lat, r.lon, r.door_open)


def analyse(
    lot: str,
    readings: Sequence[LotReading],
    start: float | None,
    end: float,
    profile: CargoProfile,
    *,
    hold_max_s: float = DEFAULT_PARAMS.hold_max_s,
    confirm_readings: int = DEFAULT_PARAMS.critical_confirm_readings,
    confirm_s: float = DEFAULT_PARAMS.critical_confirm_s,
    clear_s: float = DEFAULT_PARAMS.critical_clear_s,
    rejected_at_pod: bool = False,
    pod_by: str = "",
    pod_stop: str = "",
    pod_note: str = "",
) -> LotAnalysis:
    """The lot's figures over the carriage ``[start, end]`` (``start`` None: not loaded yet)."""
    inside = [] if start is None else [r for r in readings if start <= r.t <= end]
    carriage_s = 0.0 if start is None else max(end - start, 0.0)
    by_probe: dict[str, list[Sample]] = {}
    for r in inside:
        by_probe.setdefault(r.probe_id, []).append(_sample(r))
    probes: list[ProbeFigures] = []
    for probe_id in sorted(by_probe):
        samples = by_probe[probe_id]
        comp = trip_compliance(
            samples,
            profile,
            hold_max_s,
            confirm_readings=confirm_readings,
            confirm_s=confirm_s,
            clear_s=clear_s,
        )
        faults = tuple(sensor_faults(classify(samples, profile, hold_max_s)))
        probes.append(ProbeFigures(probe_id, comp, faults))
    comps = [p.compliance for p in probes]
    ranged = [e for c in comps for e in c.excursions if e.kind != "critical"]
    mkts = [c.mkt_c for c in comps if c.mkt_c is not None]

    def coverage(c: Compliance) -> float:
        if carriage_s <= 0:
            return 1.0
        return min(c.covered_s / carriage_s, 1.0)

    # A lot with no reading in its carriage (not loaded yet, or a silent truck): no
    # temperatures, nothing out of range, and no coverage.
    figures = LotFigures(
        lot=lot,
        probes=tuple(p.probe_id for p in probes),
        min_c=min((c.min_c for c in comps), default=None),
        max_c=max((c.max_c for c in comps), default=None),
        mkt_c=max(mkts) if mkts else None,
        tor_min=max((c.tor_s for c in comps), default=0.0) / 60.0,
        tor_budget_min=profile.tor_budget_s / 60.0,
        excursions=len(ranged),
        longest_excursion_min=max((e.duration_s for e in ranged), default=0.0) / 60.0,
        sensor_fault_min=max((p.fault_s for p in probes), default=0.0) / 60.0,
        coverage=min((coverage(c) for c in comps), default=0.0),
        carriage_min=carriage_s / 60.0,
        hard_limit_passed=any(c.hard_limit_passed for c in comps),
        readings=sum(c.readings for c in comps),
        rejected_at_pod=rejected_at_pod,
        pod_by=pod_by,
        pod_stop=pod_stop,
        pod_note=pod_note,
    )
    return LotAnalysis(figures, tuple(probes))
