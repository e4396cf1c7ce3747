"""Render report content (JSON-ready dicts from :mod:`trip`) as JSON, CSV or PDF (reportlab).

The PDF is for people: its times are in the display zone (``LOGISTREAM_TIMEZONE``, or the zone a
caller passes), each with its abbreviation, the zone named at the top. JSON and CSV are for
machines: they keep the stored ISO 8601 times in UTC, with their ``+00:00`` offset.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from logistream.config import get_settings
from logistream.display_time import show, zone_note

Content = dict[str, Any]


NOTIFICATION_COLUMNS = (
    "alert_id",
    "rule",
    "change",
    "level",
    "recipient",
    "channel",
    "status",
    "created_at",
    "sent_at",
    "attempts",
    "last_error",
)


PROBE_FIGURES = ("readings", "mkt_c", "tor_s", "tor_budget_s", "excursions", "verdict", "reason")
"""A probe's compliance figures beside its calibration record (trips whose readings name probes)."""


def _with_figures(c: Content) -> bool:
    """Whether the probes carry their own compliance (a trip of named probes; older stored
    versions and single-probe trips have none)."""
    return any("verdict" in p for p in c.get("probes", []))


def _named(rows: list[dict[str, Any]]) -> bool:
    """Whether any of these rows (excursions, sensor faults) belongs to a named probe."""
    return any(r.get("probe_id") for r in rows)


def _methods(c: Content) -> dict[str, dict[str, str]]:
    """Each figure's names and method as the version was issued with them (``methods``; a
    version issued before reports recorded them has none)."""
    methods: dict[str, dict[str, str]] = c.get("methods") or {}
    return methods


def _full(c: Content, key: str, short: str) -> str:
    """A figure's full name at its first use, or ``short`` in a version without methods."""
    figure = _methods(c).get(key)
    return figure["full"] if figure else short


def to_json(content: Content) -> bytes:
    return (json.dumps(content, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _minutes(seconds: Any) -> str:
    return "—" if seconds is None else f"{float(seconds) / 60:.1f} min"


def _zone(timezone: str | None) -> str:
    """The zone a PDF's times are shown in: the caller's, else the display setting."""
    return timezone or get_settings().timezone


def _when(iso: Any, timezone: str) -> str:
    return show(str(iso) if iso else None, timezone)


def _times_note(timezone: str, at: Any) -> str:
    # The offset as at the report's own period, since summer time moves it.
    return f"Times in {zone_note(timezone, str(at) if at else None)}"


# --- CSV: sections of rows, a blank line between; the first column names the section. -------


def trip_csv(c: Content) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    comp = c.get("compliance", {})
    w.writerow(["section", "field", "value"])
    summary = {
        "truck_id": c["truck_id"],
        "trip_id": c["trip_id"],
        "driver_id": c["driver_id"],
        "cargo": c["cargo"],
        "route": c["route"],
        "start_time": c["start_time"],
        "end_time": c["end_time"],
        "distance_km": c["distance_km"],
        "readings": c["readings"],
        "verdict": c["verdict"],
        "reason": c["reason"],
        "mkt_c": comp.get("mkt_c"),
        "min_c": comp.get("min_c"),
        "max_c": comp.get("max_c"),
        "mean_c": comp.get("mean_c"),
        "tor_s": comp.get("tor_s"),
        "tor_budget_s": comp.get("tor_budget_s"),
        "gap_s": comp.get("gap_s"),
        "defrost_s": comp.get("defrost_s"),
        "version": c.get("version"),
        "issued_at": c.get("issued_at"),
        "digest_sha256": c["digest"],
        "digest_format": c["digest_format"],
    }
    for key, value in summary.items():
        w.writerow(["trip", key, "" if value is None else value])
    w.writerow([])
    cols = [
        "kind",
        "start_time",
        "end_time",
        "duration_s",
        "out_s",
        "peak_c",
        "alarm_at",
        "lat",
        "lon",
    ]
    if _named(c["excursions"]):
        cols.append("probe_id")
    w.writerow(["excursions", *cols])
    for e in c["excursions"]:
        w.writerow(["excursion", *["" if e.get(k) is None else e[k] for k in cols]])
    w.writerow([])
    probe_cols = ["probe_id", "position", "offset_c", "certificate", "calibrated", "due", "overdue"]
    if _with_figures(c):
        probe_cols += PROBE_FIGURES
    w.writerow(["probes", *probe_cols])
    for p in c.get("probes", []):  # older stored versions have none
        w.writerow(["probe", *["" if p.get(k) is None else p[k] for k in probe_cols]])
    w.writerow([])
    fault_cols = ["start_time", "end_time", "ongoing", "readings", "min_c", "max_c", "last_good_c"]
    if _named(c.get("sensor_faults", [])):
        fault_cols.append("probe_id")
    w.writerow(["sensor faults", *fault_cols])
    for f in c.get("sensor_faults", []):  # older stored versions have none
        w.writerow(["sensor fault", *["" if f.get(k) is None else f[k] for k in fault_cols]])
    w.writerow([])
    w.writerow(
        [
            "alerts",
            "alert_id",
            "rule",
            "severity",
            "opened_at",
            "resolved_at",
            "acknowledged_by",
            "acknowledged_at",
            "note",
        ]
    )
    for a in c["alerts"]:
        acks = a.get("acknowledgements") or [{}]
        for ack in acks:
            w.writerow(
                [
                    "alert",
                    a["alert_id"],
                    a["rule"],
                    a["severity"],
                    a["opened_at"],
                    a.get("resolved_at") or "",
                    ack.get("by") or "",
                    ack.get("at") or "",
                    ack.get("note") or "",
                ]
            )
    w.writerow([])
    w.writerow(["notifications", *NOTIFICATION_COLUMNS])
    for n in c.get("notifications", []):
        w.writerow(
            ["notification", *["" if n.get(k) is None else n[k] for k in NOTIFICATION_COLUMNS]]
        )
    w.writerow([])
    w.writerow(["versions", "version", "issued_at", "digest", "readings", "verdict"])
    for v in c.get("earlier_versions", []):
        w.writerow(
            ["version", v["version"], v["issued_at"], v["digest"], v["readings"], v["verdict"]]
        )
    # Last, so every section above keeps its place: how each figure (a field of the sections
    # above) was computed, with the parameters used.
    w.writerow([])
    w.writerow(["methods", "figure", "short_name", "full_name", "method"])
    for key, m in _methods(c).items():
        w.writerow(["method", key, m["short"], m["full"], m["method"]])
    # After the methods, so every section above keeps its place (issue 18).
    from logistream.batch.reports.modes_render import modes_csv_rows

    modes = modes_csv_rows(c)
    if modes:
        w.writerow([])
        w.writerows(modes)
    # The changes on the record that touched the trip, last likewise.
    from logistream.batch.reports.changes_render import changes_csv_rows

    changes = changes_csv_rows(c)
    if changes:
        w.writerow([])
        w.writerows(changes)
    return out.getvalue().encode()


def fleet_csv(c: Content) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for section in (
        "fuel_by_truck",
        "fuel_by_route",
        "drivers",
        "thefts",
        "verdicts",
        "reconciliation",
    ):
        rows = c.get(section) or []
        if not rows:
            w.writerow([section, "(none)"])
            w.writerow([])
            continue
        cols = list(rows[0])
        w.writerow([section, *cols])
        for row in rows:
            w.writerow([section, *["" if row[k] is None else row[k] for k in cols]])
        w.writerow([])
    return out.getvalue().encode()


# --- PDF ----------------------------------------------------------------------------------------


def _chart(c: Content, width: float, height: float, timezone: str) -> Any:
    """Temperature over time, the allowed range shaded, excursions marked in red."""
    from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String  # type: ignore[import-untyped]
    from reportlab.lib import colors  # type: ignore[import-untyped]

    comp = c.get("compliance", {})
    series = c.get("series") or []
    d = Drawing(width, height)
    if len(series) < 2:
        d.add(String(10, height / 2, "(too few readings for a chart)", fontSize=9))
        return d
    left, bottom, right, top = 40.0, 20.0, width - 10.0, height - 10.0
    t0, t1 = series[0][0], series[-1][0]
    temps = [p[1] for p in series]
    lo_c, hi_c = comp.get("low_c"), comp.get("high_c")
    ymin = min([*temps, *(v for v in (lo_c, hi_c) if v is not None)]) - 1.0
    ymax = max([*temps, *(v for v in (lo_c, hi_c) if v is not None)]) + 1.0
    span_t = max(t1 - t0, 1.0)

    def x(t: float) -> float:
        return float(left + (t - t0) / span_t * (right - left))

    def y(v: float) -> float:
        return float(bottom + (v - ymin) / (ymax - ymin) * (top - bottom))

    d.add(Rect(left, bottom, right - left, top - bottom, fillColor=None, strokeColor=colors.grey))
    if lo_c is not None and hi_c is not None:
        d.add(
            Rect(
                left,
                y(lo_c),
                right - left,
                y(hi_c) - y(lo_c),
                strokeColor=None,
                fillColor=colors.Color(0.75, 0.9, 0.75),
            )
        )
    for e in c.get("excursions", []):
        xs = datetime.fromisoformat(e["start_time"]).timestamp()
        xe = datetime.fromisoformat(e["end_time"]).timestamp()
        d.add(
            Rect(
                x(xs),
                bottom,
                max(1.0, x(xe) - x(xs)),
                top - bottom,
                strokeColor=None,
                fillColor=colors.Color(1, 0.6, 0.6, alpha=0.35),
            )
        )
    # One line per probe (a point's fourth item names it; a single probe's points have none).
    lines: dict[str, list[list[Any]]] = {}
    for p in series:
        lines.setdefault(str(p[3]) if len(p) > 3 else "", []).append(p)
    palette = (colors.darkblue, colors.darkorange, colors.darkgreen, colors.purple)
    for k, (probe, probe_series) in enumerate(sorted(lines.items())):
        step = max(1, len(probe_series) // 1500)  # enough points for a page, whatever the length
        points: list[float] = []
        for p in probe_series[::step]:
            points += [x(p[0]), y(p[1])]
        colour = palette[k % len(palette)]
        if len(points) >= 4:
            d.add(PolyLine(points, strokeColor=colour, strokeWidth=0.8))
        if probe:
            d.add(
                String(left + 4 + 70 * k, top - 9, f"— {probe} probe", fontSize=7, fillColor=colour)
            )
    for v in (ymin + 1, (ymin + ymax) / 2, ymax - 1):
        d.add(Line(left - 3, y(v), left, y(v), strokeColor=colors.black))
        d.add(String(2, y(v) - 3, f"{v:.1f}", fontSize=7))
    d.add(String(left, 4, show(t0, timezone), fontSize=7))
    d.add(String(right - 95, 4, show(t1, timezone), fontSize=7))
    return d


def _table(rows: list[list[str]], widths: list[float] | None = None) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle  # type: ignore[import-untyped]

    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def a4_document(buf: io.BytesIO, title: str) -> Any:
    """A portrait A4 document with 15 mm margins writing into ``buf`` (a trip's, a shipment's)."""
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import SimpleDocTemplate

    margin = 15 * mm
    return SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
    )


def trip_pdf(c: Content, timezone: str | None = None) -> bytes:
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = a4_document(buf, f"Trip temperature report {c['trip_id']}")
    comp = c.get("compliance", {})
    tz = _zone(timezone)
    story: list[Any] = [
        Paragraph(f"Trip temperature report — {c['trip_id']}", styles["Title"]),
        Paragraph(
            f"Version {c.get('version', '—')}, issued {_when(c.get('issued_at'), tz)}. "
            f"{_times_note(tz, c.get('start_time'))}.",
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"<b>Verdict: {str(c['verdict'] or 'n/a').upper()}</b> — {c['reason']}",
            styles["Heading2"],
        ),
    ]
    limits = f"{_fmt(comp.get('low_c'), 1)} to {_fmt(comp.get('high_c'), 1)} °C"
    facts = [
        ["Truck", c["truck_id"], "Driver", c["driver_id"] or "—"],
        [
            "Cargo",
            f"{c.get('cargo_label') or c['cargo']} ({limits})",
            "Route",
            c.get("route_label") or c["route"] or "—",
        ],
        ["Start", _when(c["start_time"], tz), "End", _when(c["end_time"], tz)],
        [
            _full(c, "distance_km", "Distance"),
            f"{_fmt(c['distance_km'], 1)} km",
            "Readings",
            str(c["readings"]),
        ],
    ]
    # The temperature figures, each under its full name (its first use in the report).
    figures = [
        (
            "mkt_c",
            "MKT",
            "not computed (frozen)" if comp.get("mkt_c") is None else f"{comp['mkt_c']:.2f} °C",
        ),
        ("mean_c", "Mean", f"{_fmt(comp.get('mean_c'))} °C"),
        ("min_c", "Min", f"{_fmt(comp.get('min_c'))} °C"),
        ("max_c", "Max", f"{_fmt(comp.get('max_c'))} °C"),
        (
            "tor_s",
            "Out of range",
            f"{_minutes(comp.get('tor_s'))} of {_minutes(comp.get('tor_budget_s'))}",
        ),
        ("defrost_s", "Defrost", _minutes(comp.get("defrost_s"))),
        ("gap_s", "Data gaps", f"{len(c['gaps'])} ({_minutes(comp.get('gap_s'))} uncovered)"),
        (
            "hard_limit_passed",
            "Hard limit passed",
            "yes" if comp.get("hard_limit_passed") else "no",
        ),
    ]
    cell = ParagraphStyle("figure-name", parent=styles["Normal"], fontSize=7.5, leading=9)
    story += [
        _table(facts, [28 * mm, 62 * mm, 30 * mm, 60 * mm]),
        Spacer(1, 2 * mm),
        _table(
            [["Figure", "Value"]]
            + [[Paragraph(escape(_full(c, k, short)), cell), v] for k, short, v in figures],
            [120 * mm, 60 * mm],
        ),
        Spacer(1, 4 * mm),
    ]
    story += [Paragraph("Temperature", styles["Heading3"]), _chart(c, 180 * mm, 60 * mm, tz)]
    story += _probes(c, styles)
    story.append(Paragraph("Excursions", styles["Heading3"]))
    story += _defined(c, "excursions", styles)
    by_probe = _named(c["excursions"])
    exc = [
        [
            *(["Probe"] if by_probe else []),
            "Kind",
            "Start",
            "End",
            "Duration",
            "Peak °C",
            "Alarm due",
            "Where",
        ]
    ]
    for e in c["excursions"]:
        where = "—" if e.get("lat") is None else f"{e['lat']:.4f}, {e['lon']:.4f}"
        exc.append(
            [
                *([e.get("probe_id") or "unnamed"] if by_probe else []),
                e["kind"],
                _when(e["start_time"], tz),
                _when(e["end_time"], tz),
                _minutes(e["duration_s"]),
                _fmt(e["peak_c"]),
                _when(e.get("alarm_at"), tz) if e.get("alarm_at") else "below delay",
                where,
            ]
        )
    story.append(_table(exc) if len(exc) > 1 else Paragraph("None.", styles["Normal"]))
    # Readings the probe cannot have measured: left out of the figures above, for maintenance.
    story.append(Paragraph("Sensor faults", styles["Heading3"]))
    story += _defined(c, "sensor_faults", styles)
    fault_by_probe = _named(c.get("sensor_faults", []))
    faults = [
        [
            *(["Probe"] if fault_by_probe else []),
            "Start",
            "End",
            "Readings",
            "Values °C",
            "Air taken as °C",
        ]
    ]
    for f in c.get("sensor_faults", []):
        values = (
            _fmt(f["min_c"])
            if f["min_c"] == f["max_c"]
            else (f"{_fmt(f['min_c'])} to {_fmt(f['max_c'])}")
        )
        faults.append(
            [
                *([f.get("probe_id") or "unnamed"] if fault_by_probe else []),
                _when(f["start_time"], tz),
                "ongoing" if f["ongoing"] else _when(f["end_time"], tz),
                str(f["readings"]),
                values,
                _fmt(f.get("last_good_c")) if f.get("last_good_c") is not None else "—",
            ]
        )
    story.append(_table(faults) if len(faults) > 1 else Paragraph("None.", styles["Normal"]))
    story.append(Paragraph("Alerts and acknowledgements", styles["Heading3"]))
    al = [["Rule", "Opened", "Resolved", "Acknowledged by", "When", "Note"]]
    for a in c["alerts"]:
        for ack in a.get("acknowledgements") or [{}]:
            al.append(
                [
                    a["rule"],
                    _when(a["opened_at"], tz),
                    _when(a.get("resolved_at"), tz),
                    ack.get("by") or "—",
                    _when(ack.get("at"), tz),
                    ack.get("note") or "",
                ]
            )
    story.append(_table(al) if len(al) > 1 else Paragraph("None.", styles["Normal"]))
    # The operating modes during the trip and the alarms held in them (issue 18).
    from logistream.batch.reports.modes_render import modes_story

    story += modes_story(c, tz, styles)
    # The audit rows that touched the trip (issue 18).
    from logistream.batch.reports.changes_render import changes_story

    story += changes_story(c, tz, styles)
    story.append(Paragraph("Notifications", styles["Heading3"]))
    sent = [["Rule", "Level", "To", "Channel", "Status", "Sent"]]
    for n in c.get("notifications", []):
        sent.append(
            [
                n.get("rule") or "",
                str(n.get("level") or 0),
                n.get("recipient") or "",
                n.get("channel") or "",
                n.get("status") or "",
                _when(n.get("sent_at"), tz),
            ]
        )
    story.append(_table(sent) if len(sent) > 1 else Paragraph("None sent.", styles["Normal"]))
    story.append(Paragraph("Report versions", styles["Heading3"]))
    ver = [["Version", "Issued", "Readings", "Verdict", "SHA-256"]]
    for v in c.get("earlier_versions", []):
        ver.append(
            [
                str(v["version"]),
                _when(v["issued_at"], tz),
                str(v["readings"]),
                v["verdict"],
                v["digest"],
            ]
        )
    story.append(_table(ver) if len(ver) > 1 else Paragraph("First version.", styles["Normal"]))
    story += _figures_and_methods(c, styles)
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            f"Archive digest ({c['digest_format']}, SHA-256 over {c['readings']} readings):",
            styles["Normal"],
        ),
        Paragraph(f"<font name='Courier'>{c['digest']}</font>", styles["Normal"]),
        Spacer(1, 10 * mm),
        Paragraph(
            "Released by (quality manager): ______________________  "
            "Date: ____________  Signature: ______________________",
            styles["Normal"],
        ),
    ]
    doc.build(story)
    return buf.getvalue()


def _defined(c: Content, key: str, styles: Any) -> list[Any]:
    """A section's figure in full under its heading (none in a version without methods)."""
    from reportlab.platypus import Paragraph

    figure = _methods(c).get(key)
    if not figure:
        return []
    return [Paragraph(f"<i>{escape(figure['full'])}</i>", styles["Normal"])]


def _figures_and_methods(c: Content, styles: Any) -> list[Any]:
    """What each figure is and how it was computed, with the parameters this version used."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    story: list[Any] = [Paragraph("Figures and methods", styles["Heading3"])]
    methods = _methods(c)
    if not methods:
        story.append(
            Paragraph(
                "This version was issued before reports recorded each figure's method.",
                styles["Normal"],
            )
        )
        return story
    cell = ParagraphStyle("method", parent=styles["Normal"], fontSize=7.5, leading=9)
    rows: list[list[Any]] = [["Figure", "Method"]]
    for m in methods.values():
        rows.append([Paragraph(escape(m["full"]), cell), Paragraph(escape(m["method"]), cell)])
    story.append(_table(rows, [62 * mm, 118 * mm]))
    return story


def _probes(c: Content, styles: Any) -> list[Any]:
    """The truck's probes with their calibration records; an overdue one is marked."""
    from reportlab.platypus import Paragraph

    if "probes" not in c:  # a version stored before probes were reported
        return []
    story: list[Any] = [Paragraph("Probes and calibration", styles["Heading3"])]
    rows = [["Probe", "Position", "Offset °C", "Certificate", "Calibrated", "Due", "Status"]]
    for p in c["probes"]:
        rows.append(
            [
                p["probe_id"] or "single probe",
                str(p["position"]).replace("_", " "),
                "—" if p["offset_c"] is None else f"{p['offset_c']:+.2f}",
                p["certificate"] or "no record",
                p["calibrated"] or "—",
                p["due"] or "—",
                "OVERDUE during this trip" if p["overdue"] else "in calibration",
            ]
        )
    if len(rows) == 1:
        story.append(Paragraph("No device record (devices.toml) for this truck.", styles["Normal"]))
    else:
        story.append(_table(rows))
        story.append(
            Paragraph(
                "Temperatures are the probes' raw values; the offset is the calibration "
                "correction (true = raw + offset), archived beside each reading.",
                styles["Normal"],
            )
        )
    if _with_figures(c):
        story += _probe_compliance(c, styles)
    return story


def _probe_compliance(c: Content, styles: Any) -> list[Any]:
    """Each probe's own figures and verdict; the trip's verdict above is the worst of them."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    cell = ParagraphStyle("probe-reason", parent=styles["Normal"], fontSize=7.5, leading=9)

    rows = [["Probe", "Readings", "MKT °C", "Out of range", "Excursions", "Verdict", "Reason"]]
    for p in c["probes"]:
        rows.append(
            [
                p["probe_id"] or "unnamed",
                _fmt(p.get("readings")),
                _fmt(p.get("mkt_c")),
                f"{_minutes(p.get('tor_s'))} of {_minutes(p.get('tor_budget_s'))}"
                if p.get("tor_s") is not None
                else "—",
                _fmt(p.get("excursions")),
                str(p.get("verdict") or "no readings").upper(),
                Paragraph(str(p.get("reason") or ""), cell),
            ]
        )
    return [
        Paragraph("Compliance per probe", styles["Heading4"]),
        _table(rows, [w * mm for w in (20, 16, 16, 34, 18, 18, 58)]),
        Paragraph(
            "Each probe is judged on its own readings; the trip's verdict is its worst probe's.",
            styles["Normal"],
        ),
    ]


def _fleet_cell(column: str, value: Any, timezone: str) -> str:
    # Time columns (``start_time``, ``opened_at``...) hold ISO text: shown in the display zone.
    if column.endswith(("_time", "_at")) and isinstance(value, str):
        return _when(value, timezone)
    return _fmt(value, 1)


def fleet_pdf(c: Content, timezone: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=landscape(A4), title="Fleet report", leftMargin=12 * mm, rightMargin=12 * mm
    )
    tz = _zone(timezone)
    story: list[Any] = [
        Paragraph("Fleet report: fuel efficiency and driver scorecards", styles["Title"]),
        Paragraph(
            f"Trips that started from {_when(c['from'], tz)} to {_when(c['to'], tz)}. "
            f"{_times_note(tz, c.get('from'))}.",
            styles["Normal"],
        ),
    ]
    sections = (
        ("Fuel efficiency per truck", "fuel_by_truck"),
        ("Fuel efficiency per route", "fuel_by_route"),
        ("Driver scorecards", "drivers"),
        ("Suspected fuel thefts", "thefts"),
        ("Trip verdicts", "verdicts"),
        ("Speed vs batch reconciliation", "reconciliation"),
    )
    for title, key in sections:
        rows = c.get(key) or []
        story += [Spacer(1, 3 * mm), Paragraph(title, styles["Heading3"])]
        if not rows:
            story.append(Paragraph("None.", styles["Normal"]))
            continue
        cols = list(rows[0])
        story.append(_table([cols, *[[_fleet_cell(k, r[k], tz) for k in cols] for r in rows]]))
    doc.build(story)
    return buf.getvalue()


def render(content: Content, fmt: str, timezone: str | None = None) -> bytes:
    """The report (a trip's, the fleet's or a shipment's) as ``json``, ``csv`` or ``pdf``; a
    PDF's times in ``timezone`` (default: the display setting, ``LOGISTREAM_TIMEZONE``)."""
    if content.get("report") == "shipment report":
        from logistream.batch.reports.shipment_render import render_shipment

        return render_shipment(content, fmt, timezone)
    fleet = content.get("report") == "fleet report"
    if fmt == "json":
        return to_json(content)
    if fmt == "csv":
        return fleet_csv(content) if fleet else trip_csv(content)
    if fmt == "pdf":
        return fleet_pdf(content, timezone) if fleet else trip_pdf(content, timezone)
    raise ValueError(f"unknown format {fmt!r}: pdf, csv or json")
