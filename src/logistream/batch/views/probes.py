"""A trip of several probes: each probe is judged on its own readings, and the trip gets the
verdict of its worst probe, with a reason that names that probe.

The pure statement of what the SQL does (``view_sql.PROBE_LABEL_SQL``, ``WORST_FIRST_SQL``):
worst first is ``fail``, then ``review``, then ``pass``; among equal verdicts, a passed hard
limit, then the longer time out of range, the more excursions, the higher MKT, and last the
probe's name, so the choice never depends on the order rows come in. ``probe_id`` '' is the
single probe of readings that name none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logistream.coldchain.compliance import Verdict

_VERDICT_RANK: dict[Verdict, int] = {"fail": 0, "review": 1, "pass": 2}


@dataclass(frozen=True, slots=True)
class ProbeVerdict:
    """What decides between the probes of one trip."""

    probe_id: str
    verdict: Verdict
    reason: str
    hard_limit_passed: bool = False
    tor_s: float = 0.0
    excursions: int = 0
    mkt_c: float | None = None


def probe_label(probe_id: str) -> str:
    """How a reason names a probe ("rear probe"), as the speed layer's alert messages do."""
    return f"{probe_id} probe" if probe_id else "unnamed probe"


def _worst_first(p: ProbeVerdict) -> tuple[int, bool, float, int, float, str]:
    mkt = float("-inf") if p.mkt_c is None else p.mkt_c
    return (
        _VERDICT_RANK[p.verdict],
        not p.hard_limit_passed,
        -p.tor_s,
        -p.excursions,
        -mkt,
        p.probe_id,
    )


def worst_probe(probes: Sequence[ProbeVerdict]) -> ProbeVerdict:
    """The probe that decides the trip's verdict."""
    if not probes:
        raise ValueError("a trip has at least one probe")
    return min(probes, key=_worst_first)


def trip_verdict(probes: Sequence[ProbeVerdict]) -> tuple[Verdict, str]:
    """The trip's verdict and reason: its worst probe's, the reason naming the probe when the
    readings name probes (a single unnamed probe's reason is as it always was)."""
    worst = worst_probe(probes)
    if len(probes) == 1 and not worst.probe_id:
        return worst.verdict, worst.reason
    return worst.verdict, f"{probe_label(worst.probe_id)}: {worst.reason}"
