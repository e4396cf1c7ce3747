"""Audits: trips with verdict, MKT and excursions (batch views), trip reports, reconciliation."""

from __future__ import annotations

from typing import Any

import streamlit as st

from logistream.reads import tables as ar
from logistream.serving import audits_data, table_labels, ui


def _trip_report(conn: Any, trip: dict[str, Any], batch: bool) -> None:
    s, registry = ui.settings(), ui.registry()
    ctx = table_labels.context_of(registry, s.timezone)
    trip_id, truck_id = str(trip["trip_id"]), str(trip["truck_id"])
    profile = registry.profile_for(trip.get("cargo"))
    st.subheader(f"Trip {trip_id} — {truck_id}")
    if trip.get("verdict"):
        st.markdown(f"**Verdict: {trip['verdict'].upper()}** — {trip.get('reason') or ''}")
    st.table(audits_data.trip_figures(trip, profile, ctx))
    if batch:
        probes = ar.trip_probes(conn, truck_id, trip_id).records()
        if probes:
            st.caption("Per probe (the trip's verdict is its worst probe's)")
            st.dataframe(table_labels.for_people(probes, ctx), hide_index=True)
        found = ar.trip_excursions(conn, truck_id, trip_id).records()
        lines = audits_data.batch_excursion_lines(found, s.timezone)
        st.caption("Excursions (batch view)")
        if found:
            # The probe column only where the readings name probes.
            hide = () if any(e.get("probe") for e in found) else ("probe",)
            st.dataframe(table_labels.for_people(found, ctx, hide=hide), hide_index=True)
        st.write("\n".join(f"- {line}" for line in lines) or "No excursion.")
    else:
        st.caption(
            "Excursions: the batch layer has not audited this trip yet; run `logistream batch "
            "--changed` (the trips with new readings) to count them with the cargo's alarm delays."
        )
    alerts = audits_data.alert_lines(ar.trip_alerts(conn, trip_id).records(), s.timezone)
    st.caption("Alerts and acknowledgements")
    st.write("\n".join(f"- {line}" for line in alerts) or "No alert.")
    _signed_report(conn, truck_id, trip_id)


def _signed_report(conn: Any, truck_id: str, trip_id: str) -> None:
    """The same versioned, digest-signed report as `logistream report trip` and the API."""
    key = f"report:{truck_id}|{trip_id}"
    if st.button("Get the signed trip report", key=f"get-{key}"):
        from logistream.batch.reports.current import current_trip_report
        from logistream.errors import TripNotFound

        try:
            st.session_state[key] = current_trip_report(
                conn, _owner_connection, ui.registry(), truck_id, trip_id
            )
        except TripNotFound as error:
            st.warning(f"{error}; is the bridge archiving?")
    content = st.session_state.get(key)
    if content is None:
        st.caption(
            "The report is issued once per version of the trip's archived readings; "
            "a late reading makes a new version and earlier ones are kept."
        )
        return
    from logistream.batch.reports.render import render

    name = f"trip-{truck_id}-{trip_id}-v{content.get('version')}".replace(" ", "_")
    st.markdown(
        f"Report version **{content.get('version')}**, SHA-256 of the archived readings "
        f"`{content.get('digest')}`"
    )
    left, right = st.columns(2)
    left.download_button(
        "Trip report (PDF)", render(content, "pdf"), f"{name}.pdf", "application/pdf"
    )
    right.download_button("Trip report (CSV)", render(content, "csv"), f"{name}.csv", "text/csv")


def _owner_connection() -> Any:
    # Issuing a report version is an append-only write, which the read-only role cannot do.
    import psycopg

    from logistream.config import resolve_endpoints

    return psycopg.connect(resolve_endpoints(ui.settings()).database_url, connect_timeout=5)


def _page(conn: Any) -> None:
    s = ui.settings()
    ctx = table_labels.context_of(ui.registry(), s.timezone)
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
    st.caption(f"Failing trips first, then those to review. Times in {s.timezone}.")
    st.dataframe(table_labels.for_people(trips, ctx), hide_index=True)
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
        st.dataframe(table_labels.for_people(rows, ctx), hide_index=True)
    else:
        st.caption("Nothing reconciled yet (the batch layer fills this).")


def render() -> None:
    st.title("Audits")
    try:
        with ui.reader() as conn:
            _page(conn)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
