"""A truck's live temperature as the pages show it (pure): a truck with several probes shows each
probe, named by its id and position in the registry's devices ("front 4.8 °C · rear 5.1 °C"),
never whichever probe's reading came last; a single-probe truck shows its reading's temperature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from logistream.live_views import ProbeLatest, TruckView
from logistream.registry import Registry

T = TypeVar("T")

SINGLE: str = "cargo air"
"""The name of a truck's single probe (readings without ``probe_id``) beside named ones."""


def probe_label(probe_id: str | None, position: str | None) -> str:
    """``front``, ``return air``, ``p2 (rear)``: the probe's id, with its position when they
    differ (both written with spaces)."""
    if probe_id is None:
        return SINGLE
    if position is None:
        return probe_id
    name, where = probe_id.replace("_", " "), position.replace("_", " ")
    return name if name == where else f"{probe_id} ({where})"


def probe_labels(registry: Registry, truck_id: str) -> dict[str | None, str]:
    """The truck's registered probes, in the registry's order, with their labels."""
    device = registry.devices.for_truck(truck_id)
    if device is None:
        return {}
    return {p.probe_id: probe_label(p.probe_id, p.position) for p in device.probes}


def _labelled(
    probe_ids: Iterable[str | None], registry: Registry, truck_id: str
) -> list[tuple[str, str | None]]:
    """(label, probe id): the registry's probes first in its order (the single probe, None,
    among them when listed), then the rest by id."""
    labels = probe_labels(registry, truck_id)
    rank = {probe_id: i for i, probe_id in enumerate(labels)}
    keys = sorted(probe_ids, key=lambda p: (rank.get(p, len(rank)), p or ""))
    return [(labels.get(p) or probe_label(p, None), p) for p in keys]


def ordered(
    probes: Sequence[ProbeLatest], registry: Registry, truck_id: str
) -> list[tuple[str, ProbeLatest]]:
    """(label, probe) in the registry's order; probes it does not list after, by id."""
    by_id = {p.probe_id: p for p in probes}
    return [(label, by_id[p]) for label, p in _labelled(by_id, registry, truck_id) if p is not None]


def by_label(values: Mapping[str | None, T], registry: Registry, truck_id: str) -> dict[str, T]:
    """The same values keyed by their probe's label, in :func:`_labelled`'s order."""
    return {label: values[p] for label, p in _labelled(values, registry, truck_id)}


def temps(view: TruckView) -> list[float]:
    """Every probe's latest °C (the reading's alone on a single-probe truck)."""
    return [p.temp for p in view.probes] if view.probes else [view.reading.temp]


def live_text(view: TruckView, registry: Registry, unit: str = " °C") -> str:
    """``4.8 °C``, or ``front 4.8 °C · rear 5.1 °C`` on a truck with several probes."""
    if not view.probes:
        return f"{view.reading.temp:.1f}{unit}"
    return " · ".join(
        f"{label} {p.temp:.1f}{unit}" for label, p in ordered(view.probes, registry, view.truck_id)
    )
