"""A trip's report as CSV and PDF bytes (pure: rows in, bytes out), for the audits page."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from logistream.serving.live_data import local_time


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def readings_csv(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], timezone: str, time_column: str = "t"
) -> bytes:
    """The trip's readings, one per line, with UTC and local times side by side."""
    out = io.StringIO()
    writer = csv.writer(out)
    index = columns.index(time_column) if time_column in columns else None
    head = [c for c in columns if c != time_column]
    writer.writerow((["time_utc", f"time_{timezone}"] if index is not None else []) + head)
    for row in rows:
        rest = [_cell(v) for i, v in enumerate(row) if i != index]
        if index is None:
            writer.writerow(rest)
            continue
        t = float(row[index])
        writer.writerow([local_time(t, "UTC"), local_time(t, timezone), *rest])
    return out.getvalue().encode("utf-8")


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    return [f"{key}: {_cell(value)}" for key, value in summary.items()]


def pdf(title: str, summary: Mapping[str, Any], sections: Mapping[str, Sequence[str]]) -> bytes:
    """A plain A4 report: a title, the summary as key: value lines, then titled sections."""
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    _, height = A4
    y = height - 60

    def line(text: str, size: int = 10, gap: int = 14) -> None:
        nonlocal y
        if y < 60:
            canvas.showPage()
            y = height - 60
        canvas.setFont("Helvetica-Bold" if size > 10 else "Helvetica", size)
        canvas.drawString(50, y, text[:110])
        y -= gap

    line(title, 16, 26)
    for text in summary_lines(summary):
        line(text)
    for heading, lines in sections.items():
        y -= 8
        line(heading, 12, 18)
        for text in lines or ["none"]:
            line(text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
