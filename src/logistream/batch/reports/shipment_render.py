"""Render a shipment report (content from :mod:`shipment`) as JSON, CSV or PDF (reportlab).

The trip report's conventions and helpers (:mod:`render`): a PDF's times in the display zone,
each figure under its full name at its first use, the methods table at the end; JSON and CSV
keep the stored UTC ISO 8601 times. The CSV's first column names the section; lot rows carry
the lot number in the second.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.sax.saxutils import escape

from logistream.batch.reports.changes_render import changes_csv_rows, changes_story
from logistream.batch.reports.modes_render import modes_csv_rows, modes_story
from logistream.batch.reports.render import (
    Content,
    _figures_and_methods,
    _fmt,
    _full,
    _minutes,
    _table,
    _times_note,
    _when,
    _zone,
    a4_document,
    to_json,
)

SUMMARY_FIGURES = (
    "readings",
    "min_c",
    "max_c",
    "mkt_c",
    "tor_s",
    "tor_budget_s",
    "excursions",
    "longest_excursion_s",
    "hard_limit_passed",
    "sensor_fault_s",
    "coverage",
    "carriage_s",
)


def shipment_csv(c: Content) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "lot", "field", "value"])
    for key in (
        "shipment_id",
        "reference",
        "status",
        "cargo",
        "truck_id",
        "verdict",
        "reason",
        "readings",
        "version",
        "issued_at",
        "digest",
        "digest_format",
    ):
        value = c.get(key)
        w.writerow(["shipment", "", key, "" if value is None else value])
    for s in c["stages"]:
        w.writerow(["stage", "", s["stage"], f"{s['at']} stop {s['stop']} {s['stop_name']}"])
    for lot in c["lots"]:
        n = lot["lot"]
        w.writerow(["lot", n, "carriage_start", lot["carriage"]["start"] or ""])
        w.writerow(["lot", n, "carriage_end", lot["carriage"]["end"] or ""])
        w.writerow(["lot", n, "carriage_ended_by", lot["carriage"]["ended_by"]])
        for key in SUMMARY_FIGURES:
            value = lot["figures"].get(key)
            w.writerow(["lot", n, key, "" if value is None else value])
        w.writerow(["lot", n, "verdict", lot["verdict"]])
        w.writerow(["lot", n, "reason", lot["reason"]])
        pod = lot.get("proof_of_delivery")
        w.writerow(["lot", n, "pod", f"{pod['decision']} by {pod['signer_name']}" if pod else ""])
        release = lot.get("release")
        w.writerow(["lot", n, "release", release["decision"] if release else ""])
        for s in lot["stages"]:
            w.writerow(["lot_stage", n, s["stage"], f"{s['at']} stop {s['stop']}"])
        for e in lot["excursions"]:
            w.writerow(
                ["excursion", n, e["kind"], f"{e['probe_id']} {e['start']} {e['duration_s']:.0f} s"]
            )
        for f in lot["sensor_faults"]:
            w.writerow(["sensor_fault", n, f["probe_id"], f"{f['start']} {f['end']}"])
        for a in lot["alerts"]:
            acks = "; ".join(f"{k['by']} {k['at']}" for k in a.get("acknowledgements", []))
            w.writerow(["alert", n, a["rule"], f"{a['opened_at']} acknowledged: {acks or '-'}"])
        for x in lot["notifications"]:
            w.writerow(
                ["notification", n, x.get("rule"), f"{x.get('recipient')} {x.get('status')}"]
            )
    for key, m in (c.get("methods") or {}).items():
        w.writerow(["method", "", key, f"{m['full']}: {m['method']}"])
    # The truck's operating modes over the carriage (issue 18), last so the rows above keep
    # their place; an empty lot column as in the shipment's own rows.
    w.writerows(modes_csv_rows(c, lead=("",)))
    w.writerows(changes_csv_rows(c, lead=("",)))
    return out.getvalue().encode()


def _figure_rows(c: Content, lot: dict[str, Any], tz: str) -> list[list[str]]:
    f = lot["figures"]
    mkt = f.get("mkt_c")
    return [
        [_full(c, "mkt_c", "MKT"), "not computed" if mkt is None else f"{mkt:.2f} °C"],
        [_full(c, "min_c", "Min"), f"{_fmt(f.get('min_c'))} °C"],
        [_full(c, "max_c", "Max"), f"{_fmt(f.get('max_c'))} °C"],
        [
            _full(c, "tor_s", "Time out of range"),
            f"{_minutes(f.get('tor_s'))} of {_minutes(f.get('tor_budget_s'))}",
        ],
        [
            _full(c, "excursions", "Excursions"),
            f"{f.get('excursions')} (longest {_minutes(f.get('longest_excursion_s'))})",
        ],
        [
            _full(c, "hard_limit_passed", "Hard limit"),
            "yes" if f.get("hard_limit_passed") else "no",
        ],
        [_full(c, "sensor_fault_s", "Sensor-fault time"), _minutes(f.get("sensor_fault_s"))],
        [_full(c, "coverage", "Coverage"), f"{100 * float(f.get('coverage') or 0):.1f} %"],
        [
            _full(c, "carriage", "Carriage"),
            f"{_when(lot['carriage']['start'], tz)} to {_when(lot['carriage']['end'], tz)} "
            f"({lot['carriage']['ended_by']}, {_minutes(f.get('carriage_s'))})",
        ],
    ]


def _lot_story(c: Content, lot: dict[str, Any], tz: str, styles: Any) -> list[Any]:
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, Spacer  # type: ignore[import-untyped]

    cell = ParagraphStyle("lot-cell", parent=styles["Normal"], fontSize=7.5, leading=9)
    story: list[Any] = [
        Paragraph(
            f"Lot {escape(lot['lot'])} — {escape(lot['product'])}, {lot['quantity']:g} "
            f"{escape(lot['unit'])}, to {escape(lot['drop_stop_name'])}",
            styles["Heading2"],
        ),
        Paragraph(
            f"<b>{escape(_full(c, 'release_verdict', 'Release verdict'))}: "
            f"{lot['verdict'].upper()}</b> — {escape(lot['reason'])}",
            styles["Normal"],
        ),
    ]
    release = lot.get("release")
    decided = (
        f"{release['decision']} by {release['by']} on {_when(release['at'], tz)}: "
        f"{release['reason']}"
        if release
        else "no decision yet"
    )
    story.append(
        Paragraph(f"{escape(_full(c, 'release', 'Decision'))}: {escape(decided)}", styles["Normal"])
    )
    rows = [[Paragraph(escape(k), cell), v] for k, v in _figure_rows(c, lot, tz)]
    story += [Spacer(1, 2 * mm), _table([["Figure", "Value"], *rows], [120 * mm, 60 * mm])]
    stages = [["Stage", "Stop", "At", "Cause"]] + [
        [s["stage"], s["stop_name"], _when(s["at"], tz), s["cause"]] for s in lot["stages"]
    ]
    story.append(Paragraph("Stages during the carriage", styles["Heading4"]))
    story.append(_table(stages) if len(stages) > 1 else Paragraph("None.", styles["Normal"]))
    exc = [["Probe", "Kind", "Start", "End", "Duration", "Peak °C"]] + [
        [
            e["probe_id"] or "unnamed",
            e["kind"],
            _when(e["start"], tz),
            "ongoing" if e["ongoing"] else _when(e["end"], tz),
            _minutes(e["duration_s"]),
            _fmt(e["peak_c"]),
        ]
        for e in lot["excursions"]
    ]
    story.append(Paragraph("Excursions", styles["Heading4"]))
    story.append(_table(exc) if len(exc) > 1 else Paragraph("None.", styles["Normal"]))
    faults = [["Probe", "Start", "End", "Readings"]] + [
        [f["probe_id"] or "unnamed", _when(f["start"], tz), _when(f["end"], tz), str(f["readings"])]
        for f in lot["sensor_faults"]
    ]
    story.append(Paragraph("Sensor faults", styles["Heading4"]))
    story.append(_table(faults) if len(faults) > 1 else Paragraph("None.", styles["Normal"]))
    alerts = [["Rule", "Opened", "Acknowledged by", "When", "Note"]]
    for a in lot["alerts"]:
        for ack in a.get("acknowledgements") or [{}]:
            alerts.append(
                [
                    a["rule"],
                    _when(a["opened_at"], tz),
                    ack.get("by") or "—",
                    _when(ack.get("at"), tz),
                    ack.get("note") or "",
                ]
            )
    story.append(Paragraph("Alerts and acknowledgements", styles["Heading4"]))
    story.append(_table(alerts) if len(alerts) > 1 else Paragraph("None.", styles["Normal"]))
    sent = [["Rule", "To", "Channel", "Status", "Sent"]] + [
        [
            n.get("rule") or "",
            n.get("recipient") or "",
            n.get("channel") or "",
            n.get("status") or "",
            _when(n.get("sent_at"), tz),
        ]
        for n in lot["notifications"]
    ]
    story.append(Paragraph("Notifications", styles["Heading4"]))
    story.append(_table(sent) if len(sent) > 1 else Paragraph("None sent.", styles["Normal"]))
    pod = lot.get("proof_of_delivery")
    story.append(Paragraph("Proof of delivery", styles["Heading4"]))
    if pod:
        text = (
            f"{pod['decision']} at {pod['stop_id']} by {pod['signer_name']} "
            f"({pod['organisation']}), signed {_when(pod['signed_at'], tz)}"
            + (f": {pod['note']}" if pod.get("note") else "")
        )
        story.append(Paragraph(escape(text), styles["Normal"]))
    else:
        story.append(Paragraph("None recorded.", styles["Normal"]))
    return story


def shipment_pdf(c: Content, timezone: str | None = None) -> bytes:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = a4_document(buf, f"Shipment report {c['shipment_id']}")
    tz = _zone(timezone)
    first = c["stages"][0]["at"] if c["stages"] else c.get("issued_at")
    story: list[Any] = [
        Paragraph(f"Shipment report — {escape(c['shipment_id'])}", styles["Title"]),
        Paragraph(
            f"Version {c.get('version', '—')}, issued {_when(c.get('issued_at'), tz)}. "
            f"{_times_note(tz, first)}.",
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
        Paragraph(
            f"<b>Worst lot: {str(c['verdict']).upper()}</b> — {escape(c['reason'])}",
            styles["Heading2"],
        ),
        _table(
            [
                ["Reference", c["reference"], "Status", c["status"]],
                ["Shipper", c["shipper"]["name"], "Receiver", c["receiver"]["name"]],
                [
                    "Cargo",
                    f"{c['cargo_label']} ({_fmt(c['low_c'], 1)} to {_fmt(c['high_c'], 1)} °C)",
                    "Truck",
                    c["truck_id"],
                ],
            ],
            [25 * mm, 65 * mm, 25 * mm, 65 * mm],
        ),
        Paragraph(escape(_full(c, "stages", "Stages")), styles["Heading3"]),
    ]
    stages = [["Stage", "Stop", "At", "Cause"]] + [
        [s["stage"], s["stop_name"], _when(s["at"], tz), s["cause"]] for s in c["stages"]
    ]
    story.append(_table(stages) if len(stages) > 1 else Paragraph("None yet.", styles["Normal"]))
    for lot in c["lots"]:
        story += _lot_story(c, lot, tz, styles)
    story += modes_story(c, tz, styles)
    story += changes_story(c, tz, styles)
    story.append(Paragraph("Report versions", styles["Heading3"]))
    ver = [["Version", "Issued", "Readings", "Verdict", "SHA-256"]] + [
        [
            str(v["version"]),
            _when(v["issued_at"], tz),
            str(v["readings"]),
            v["verdict"],
            v["digest"],
        ]
        for v in c.get("earlier_versions", [])
    ]
    story.append(_table(ver) if len(ver) > 1 else Paragraph("First version.", styles["Normal"]))
    story += _figures_and_methods(c, styles)
    sel = c.get("digest_selection") or {}
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            f"Archive digest ({c['digest_format']}, SHA-256 over the {c['readings']} readings of "
            f"truck {escape(str(sel.get('truck_id', c['truck_id'])))} from "
            f"{_when(sel.get('from'), tz)} to {_when(sel.get('to'), tz)}):",
            styles["Normal"],
        ),
        Paragraph(f"<font name='Courier'>{c['digest']}</font>", styles["Normal"]),
    ]
    doc.build(story)
    return buf.getvalue()


def render_shipment(content: Content, fmt: str, timezone: str | None = None) -> bytes:
    """The shipment report as ``json``, ``csv`` or ``pdf``."""
    if fmt == "json":
        return to_json(content)
    if fmt == "csv":
        return shipment_csv(content)
    if fmt == "pdf":
        return shipment_pdf(content, timezone)
    raise ValueError(f"unknown format {fmt!r}: pdf, csv or json")
