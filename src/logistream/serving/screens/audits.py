"""Audits: trips with verdict, MKT and excursions (batch views), trip reports, reconciliation."""

from __future__ import annotations

from typing import Any

import streamlit as st

from logistream.serving import archive_reads as ar
from logistream.serving import audits_data, trip_report, ui

TIME_COLUMNS = ("started", "ended", "last_reading", "start", "end", "alarm_at", "changed")


def _trip_report(conn: Any, trip: dict[str, Any], batch: bool) -> None:
    s, registry = ui.settings(), ui.registry()
    trip_id, truck_id = str(trip["trip_id"]), str(trip["truck_id"])
    readings = ar.trip_readings(conn, trip_id)
    profile = registry.profile_for(trip.get("cargo"))
    summary = audits_data.trip_summary(trip, profile, s.timezone)
    st.subheader(f"Trip {trip_id} — {truck_id}")
    if trip.get("verdict"):
        st.markdown(f"**Verdict: {trip['verdict'].upper()}** — {trip.get('reason') or ''}")
    st.json(summary, expanded=False)
    if batch:
        found = ar.trip_excursions(conn, truck_id, trip_id).records()
        lines = audits_data.batch_excursion_lines(found, s.timezone)
        st.caption("Excursions (batch view)")
        if found:
            st.dataframe(audits_data.localise(found, TIME_COLUMNS, s.timezone), hide_index=True)
    else:
        raw = audits_data.raw_excursions(readings.records(), profile)
        lines = audits_data.excursion_lines(raw, s.timezone)
        st.caption("Stretches outside the range in the raw readings (no alarm delays applied)")
    st.write("\n".join(f"- {line}" for line in lines) or "No excursion.")
    alerts = audits_data.alert_lines(ar.trip_alerts(conn, trip_id).records(), s.timezone)
    pdf = trip_report.pdf(
        f"LogiStream trip report — {trip_id}", summary, {"Excursions": lines, "Alerts": alerts}
    )
    csv = trip_report.readings_csv(readings.columns, readings.rows, s.timezone)
    left, right = st.columns(2)
    left.download_button("Trip report (PDF)", pdf, f"trip-{trip_id}.pdf", "application/pdf")
    right.download_button("Readings (CSV)", csv, f"trip-{trip_id}.csv", "text/csv")


def _page(conn: Any) -> None:
    s = ui.settings()
    found = ar.present(conn, ar.AUDIT_VIEWS)
    missing = audits_data.missing_line(ar.AUDIT_VIEWS, found, "this page")
    batch = not missing and ar.has_rows(conn, "trips")
    if missing:
        st.warning(missing)
    elif not batch:
        st.warning(
            "The batch views are empty: no verdict, MKT or reconciliation until the batch "
            "layer has run (`logistream batch`). Trips below come from the raw archive."
        )
    trips = (ar.audit_trips(conn) if batch else ar.archived_trips(conn)).records()
    if not trips:
        st.info("No trip in the archive yet: is `logistream bridge` running?")
        return
    counts = audits_data.verdict_counts(trips)
    for column, (verdict, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(f"Trips {verdict}", count)
    st.subheader(f"Trips ({len(trips)})")
    st.dataframe(audits_data.localise(trips, TIME_COLUMNS, s.timezone), hide_index=True)
    labels = {
        f"{t['truck_id']}|{t['trip_id']}": f"{t['trip_id']} · {t['truck_id']}"
        + (f" · {t['verdict']}" if t.get("verdict") else "")
        for t in trips
    }
    chosen = st.selectbox("Open a trip", list(labels), format_func=labels.__getitem__)
    if chosen is not None:
        trip = next(t for t in trips if f"{t['truck_id']}|{t['trip_id']}" == chosen)
        _trip_report(conn, trip, batch)
    st.subheader("Reconciliation: speed-layer alerts against batch-layer excursions")
    rows = ar.reconciliation(conn).records() if "reconciliation" in found else []
    if rows:
        times = ("excursion_start", "alert_opened")
        st.dataframe(audits_data.localise(rows, times, s.timezone), hide_index=True)
    else:
        st.caption("Nothing reconciled yet (the batch layer fills this).")


def render() -> None:
    st.title("Audits")
    try:
        with ui.reader() as conn:
            _page(conn)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
