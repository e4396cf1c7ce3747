"""The "Changes on the record" section rendered for the trip and shipment reports (CSV, PDF).

CSV keeps the stored UTC ISO 8601 times; the PDF shows the display zone. A stored version
issued before the section existed (no ``changes`` key) renders without it, as it was issued.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from logistream.batch.reports.render import _table, _when

Content = dict[str, Any]

CHANGE_COLUMNS = (
    "seq",
    "at",
    "actor",
    "source",
    "organisation",
    "action",
    "subject_kind",
    "subject_id",
    "reason",
    "change",
)


def _cell(value: Any) -> Any:
    return "" if value is None else value


def changes_csv_rows(c: Content, lead: tuple[str, ...] = ()) -> list[list[Any]]:
    """A header and a row per change; ``lead`` cells go after the first column (the shipment
    CSV's empty lot column). None for a version issued before the section existed."""
    if "changes" not in c:
        return []
    rows: list[list[Any]] = [["changes on the record", *lead, *CHANGE_COLUMNS]]
    for ch in c["changes"]:
        rows.append(["change", *lead, *[_cell(ch.get(k)) for k in CHANGE_COLUMNS]])
    return rows


def changes_story(c: Content, tz: str, styles: Any) -> list[Any]:
    """The PDF section: a row per change (seq, when, who, from where, action, subject, reason,
    before -> after)."""
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph  # type: ignore[import-untyped]

    if "changes" not in c:
        return []
    story: list[Any] = [Paragraph("Changes on the record", styles["Heading3"])]
    if not c["changes"]:
        story.append(Paragraph("None recorded.", styles["Normal"]))
        return story
    cell = ParagraphStyle("change-cell", parent=styles["Normal"], fontSize=7, leading=8.5)

    def para(text: Any) -> Any:
        return Paragraph(escape(str(text or "")), cell)

    rows: list[list[Any]] = [["Seq", "When", "Who", "From", "Action", "Subject", "Reason, change"]]
    for ch in c["changes"]:
        who = ch["actor"] + (f" ({ch['organisation']})" if ch.get("organisation") else "")
        why = " — ".join(t for t in (ch.get("reason"), ch.get("change")) if t)
        rows.append(
            [
                str(ch["seq"]),
                _when(ch["at"], tz),
                para(who),
                ch["source"],
                para(ch["action"]),
                para(f"{ch['subject_kind']} {ch['subject_id']}"),
                para(why),
            ]
        )
    story.append(_table(rows, [w * mm for w in (9, 31, 22, 15, 21, 28, 54)]))
    return story
