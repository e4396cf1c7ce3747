"""The "Operating modes" section rendered for the trip and shipment reports (CSV and PDF).

CSV keeps the stored UTC ISO 8601 times (for machines); the PDF shows the display zone. A
stored version issued before the section existed (no ``operating_modes`` key) renders without
it, as it was issued.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from logistream.batch.reports.render import _table, _when

Content = dict[str, Any]

MODE_COLUMNS = (
    "mode_id",
    "kind",
    "reason",
    "starts_at",
    "ends_at",
    "ended_early",
    "set_by",
    "approved_by",
)
HELD_COLUMNS = ("mode_id", "alert_id", "rule", "probe_id", "at", "message")


def _cell(value: Any) -> Any:
    return "" if value is None else value


def modes_csv_rows(c: Content, lead: tuple[str, ...] = ()) -> list[list[Any]]:
    """The section's CSV rows: a header and a row per mode, then a header and a row per held
    alarm; ``lead`` cells go after the first column (the shipment CSV's empty lot column).
    None for a version issued before the section existed."""
    if "operating_modes" not in c:
        return []
    rows: list[list[Any]] = [["operating modes", *lead, *MODE_COLUMNS]]
    for m in c["operating_modes"]:
        rows.append(["operating mode", *lead, *[_cell(m.get(k)) for k in MODE_COLUMNS]])
    rows.append(["held alarms", *lead, *HELD_COLUMNS])
    for m in c["operating_modes"]:
        for h in m["held"]:
            rows.append(
                ["held alarm", *lead, m["mode_id"], *[_cell(h.get(k)) for k in HELD_COLUMNS[1:]]]
            )
    return rows


def mode_time_text(c: Content) -> str:
    """The trip's time out of range inside its modes, and how the figures count it (the batch
    views' rule: ``batch/views/view_sql.py``); empty without a trip's compliance figures."""
    mode_tor_s = (c.get("compliance") or {}).get("mode_tor_s")
    if mode_tor_s is None:
        return ""
    return (
        f"Out of range inside these modes: {mode_tor_s / 60:.1f} min. It is counted in the "
        "trip's time out of range, excursions and verdict all the same: the figures say what "
        "the cargo went through, the modes only held the alarms."
    )


def modes_story(c: Content, tz: str, styles: Any) -> list[Any]:
    """The PDF section: each mode (kind, reason, from-to, set by, approved by) and under it the
    alarms held in it (rule, probe, when, message)."""
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph  # type: ignore[import-untyped]

    if "operating_modes" not in c:
        return []
    story: list[Any] = [Paragraph("Operating modes", styles["Heading3"])]
    modes = c["operating_modes"]
    if not modes:
        story.append(Paragraph("None: the truck's alarms were never held.", styles["Normal"]))
        return story
    cell = ParagraphStyle("mode-cell", parent=styles["Normal"], fontSize=7.5, leading=9)
    rows: list[list[Any]] = [["Kind", "Reason", "From", "To", "Set by", "Approved by"]]
    for m in modes:
        to = _when(m["ends_at"], tz) + (" (ended early)" if m.get("ended_early") else "")
        rows.append(
            [
                m["kind"],
                Paragraph(escape(str(m["reason"])), cell),
                _when(m["starts_at"], tz),
                to,
                m["set_by"],
                m.get("approved_by") or "—",
            ]
        )
    story.append(_table(rows, [w * mm for w in (20, 45, 30, 35, 25, 25)]))
    inside = mode_time_text(c)
    if inside:
        story.append(Paragraph(escape(inside), styles["Normal"]))
    held = [["Mode", "Rule", "Probe", "When", "Message"]]
    for m in modes:
        for h in m["held"]:
            held.append(
                [
                    m["kind"],
                    h["rule"],
                    h.get("probe_id") or "—",
                    _when(h["at"], tz),
                    Paragraph(escape(str(h["message"])), cell),
                ]
            )
    story.append(Paragraph("Alarms held during the modes", styles["Heading4"]))
    story.append(
        _table(held, [w * mm for w in (20, 22, 18, 30, 90)])
        if len(held) > 1
        else Paragraph("None held.", styles["Normal"])
    )
    return story
