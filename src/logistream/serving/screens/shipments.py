"""Shipments: the list (stage, next stop and ETA live from the speed layer; filters; a status
colour), and one shipment's page (map with its geofences and the truck's trail, stages timeline,
ETA per stop, lots with their verdicts, change log, proof of delivery, release, stage override,
report download). A dispatcher creates a shipment from a file and cancels one.

Shipments are read from PostgreSQL with the read-only role, their live state from Redis; every
change is made with the owner's connection through ``ShipmentStore`` (one transaction each, as
the CLI and the API make them) and then published on the ``shipments`` topic, so the speed
layer learns it. The logic shown lives in ``serving/shipments_data.py``.

Tenancy (issue 18): every shipment read goes through ``reads.tenancy.scoped`` with the signed-in
user's organisation (the carrier's staff: ``carrier``, every shipment), so PostgreSQL's row-level
security decides which shipments a shipper's or receiver's user sees: the list, a shipment's
page, its lots, changes and reports; the page filters nothing itself. Those reads use a reader
connection of their own, held under a lock for each scoped transaction (the dashboard's shared
reader connection is used by every session's thread at once, and a transaction, with its
tenant, belongs to the connection): ``serving.tenant_view.scoped_reader``, which the live pages
share. A user without an organisation sees no shipment. A shipper's dispatcher creates only
shipments whose shipper is its own organisation, a receiver's user none
(``tenancy_data.creation_refusal``, as the API's 403 ``not_shipper``); a receiver's user
neither cancels a shipment nor sets its stage (``shipments.parties.change_refusal``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import streamlit as st

from logistream.audit.trail import Actor
from logistream.errors import LogiStreamError
from logistream.reads.shipment_reports import latest_shipment_report
from logistream.reads.tenancy import CARRIER
from logistream.serving import map_data, map_view, tenant_view, ui
from logistream.serving import shipments_data as sd
from logistream.serving.owner_changes import owner, publish_committed
from logistream.serving.truck_data import clock
from logistream.serving.users import User
from logistream.shipments.model import STAGES

if TYPE_CHECKING:
    import psycopg

    from logistream.live_views.records import ShipmentLive
    from logistream.shipments.store import ShipmentStore
    from logistream.shipments.wire import ShipmentRecord

TRAIL_H = 12.0
REFRESH_S = 5.0


def _change(what: Callable[[ShipmentStore], ShipmentRecord], done: str) -> bool:
    """Make one change with the owner's connection, publish it, say so; a refusal is shown as
    its one line. True when the change was stored."""
    from logistream.shipments.publish import ShipmentPublisher
    from logistream.shipments.store import ShipmentStore

    registry = ui.registry()
    try:
        with owner() as conn:
            record = what(ShipmentStore(conn, registry))
            publisher = ShipmentPublisher(ui.settings(), registry, timeout_s=10.0)
            if not publish_committed(publisher, conn, record.shipment.shipment_id, done):
                return True
    except LogiStreamError as error:
        st.error(str(error))
        return False
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return False
    st.session_state["shipment_done"] = done
    return True


def _reader_for(organisation: str | None) -> AbstractContextManager[psycopg.Connection[Any]]:
    """A reader connection inside a transaction that reads for ``organisation``: the scoped
    reads' own pool (``serving.tenant_view``, shared with the live pages)."""
    return tenant_view.scoped_reader(organisation)


def _records(organisation: str | None) -> list[ShipmentRecord]:
    from logistream.shipments.store import ShipmentStore

    with _reader_for(organisation) as conn:
        return ShipmentStore(conn, ui.registry()).list()


@st.cache_data(ttl=10, show_spinner=False)
def _active(key: str, organisation: str | None) -> list[ShipmentRecord]:
    # The live map refreshes every 2 s: the active shipments are read at most every 10 s.
    from logistream.shipments.store import ShipmentStore

    with _reader_for(organisation) as conn:
        return ShipmentStore(conn, ui.registry()).list(status="active")


def truck_labels() -> dict[str, str]:
    """Truck id → its active shipment's reference and next stop, for the live map's tooltip
    (empty when a store is not answering: the map draws without them)."""
    import psycopg

    down: tuple[type[BaseException], ...] = (psycopg.Error, LogiStreamError, *ui.redis_errors())
    try:
        records = _active(ui.settings().database_name, _user().organisation)
        live = {s.shipment_id: s for s in ui.live().shipments()}
    except down:  # a store down or not migrated yet: the map draws without them
        return {}
    return sd.truck_labels(records, live)


def _user() -> User:
    user = ui.current_user()
    # Not signed in (the pages are behind the sign-in; AppTest runs them directly): a viewer
    # of the carrier, as before organisations.
    return user if user is not None else User("anonymous", "viewer", CARRIER)


def _actor(user: User) -> Actor:
    """The audit trail's actor of a change made here: the signed-in user, source dashboard."""
    return Actor(user.name, "dashboard", user.organisation)


def _create(user: User) -> None:
    with st.expander("New shipment (from a TOML or JSON shipment file)"):
        upload = st.file_uploader("Shipment file", type=["toml", "json"], key="shipment_file")
        if st.button("Create shipment", key="shipment_create") and upload is not None:
            from logistream.shipments.errors import ShipmentError
            from logistream.shipments.store import new_record

            try:
                shipment = sd.parse_upload(upload.name, upload.getvalue(), ui.registry())
            except ShipmentError as error:
                st.error(str(error))
                return
            refused = tenant_view.creation_refusal(user, shipment.shipper.org_id)
            if refused is not None:
                st.error(refused)
                return
            if _change(
                lambda store: store.create(new_record(shipment), user.name, actor=_actor(user)),
                f"Shipment {shipment.shipment_id} created",
            ):
                st.query_params["shipment"] = shipment.shipment_id
                st.rerun()


def _cancel(user: User, records: list[ShipmentRecord]) -> None:
    active = [
        r.shipment.shipment_id
        for r in records
        if r.status == "active" and _may_change(user, r) is None
    ]
    if not active:
        return
    with st.expander("Cancel a shipment"):
        chosen = st.selectbox("Shipment to cancel", active, key="cancel_shipment")
        reason = st.text_input("Why", key="cancel_reason")
        if (
            st.button("Cancel the shipment", key="cancel_go")
            and chosen is not None
            and _change(
                lambda store: store.cancel(chosen, user.name, reason, actor=_actor(user)),
                f"Shipment {chosen} cancelled",
            )
        ):
            st.rerun()


def _list(records: list[ShipmentRecord], live: dict[str, ShipmentLive], alerts: set[str]) -> None:
    s = ui.settings()
    left, middle, right = st.columns(3)
    shippers = left.multiselect(
        "Shipper", sorted({r.shipment.shipper.name for r in records}), key="filter_shipper"
    )
    receivers = middle.multiselect(
        "Receiver", sorted({r.shipment.receiver.name for r in records}), key="filter_receiver"
    )
    stages = right.multiselect(
        "Stage", list(STAGES), format_func=sd.STAGE_LABELS.__getitem__, key="filter_stage"
    )
    shown = sd.matching(records, live, shippers=shippers, receivers=receivers, stages=stages)
    rows = sd.list_rows(shown, live, alerts, s.timezone)
    if not rows:
        st.info("No shipment matches these filters.")
        return
    import pandas as pd  # type: ignore[import-untyped]  # (no stubs installed)

    # The status cell coloured (a Styler: Streamlit draws its cell backgrounds).
    styled = pd.DataFrame(rows).style.map(sd.status_css, subset=["status"])
    st.dataframe(styled, hide_index=True)
    st.caption(
        "Status: " + " · ".join(sd.STATUSES) + f". Stage and ETA live from the speed layer; "
        f"times in {s.timezone}."
    )


def _map(record: ShipmentRecord) -> None:
    from logistream.reads.tables import truck_history

    s, registry = ui.settings(), ui.registry()
    shipment = record.shipment
    trail: list[tuple[float, float]] = []
    try:
        with tenant_view.reader_for(_user().organisation) as conn:
            since = time.time() - TRAIL_H * 3600
            for row in truck_history(conn, shipment.truck_id, since).records():
                if row["lat"] is not None and row["lon"] is not None:
                    trail.append((row["lat"], row["lon"]))
    except ui.pg_errors() as error:
        st.warning(f"PostgreSQL is not answering ({error.__class__.__name__}): no trail.")
    view = None
    try:
        view = ui.live().truck(shipment.truck_id)
    except ui.redis_errors():
        pass
    truck = registry.truck(shipment.truck_id)
    deck = map_view.kenya_deck(
        map_data.route_paths(registry, [truck.route] if truck else []),
        map_data.truck_points([view] if view else [], registry, sd.truck_labels([record], {})),
        map_data.trail_path(trail),
        view=sd.fence_view(shipment),
        style_url=s.map_style_url,
        fences=sd.fence_polygons(shipment),
    )
    st.pydeck_chart(deck, height=360)


def _pod_form(user: User, record: ShipmentRecord) -> None:
    shipment = record.shipment
    choices = sd.pod_choices(record)
    st.subheader("Proof of delivery")
    if record.status != "active" or not choices:
        st.caption("Every lot is signed for." if not choices else f"Shipment {record.status}.")
        return
    if not sd.can_sign(user.organisation, shipment):
        st.caption(
            f"Signed by a user of the receiving organisation ({shipment.receiver.name}); "
            f"you are {_of(user.organisation)}."
        )
        return
    names = {stop.stop_id: stop.name for stop in shipment.stops}
    stop_id = st.selectbox("Stop", list(choices), format_func=names.__getitem__, key="pod_stop")
    lot = st.selectbox("Lot", choices.get(stop_id or "", []), key="pod_lot")
    decision = st.radio("Decision", ["accepted", "rejected"], horizontal=True, key="pod_decision")
    name = st.text_input("Printed name", key="pod_name")
    note = st.text_input("Note", key="pod_note")
    if st.button("Sign for the lot", key="pod_sign") and stop_id and lot:
        from logistream.shipments.pod import PodRequest

        request = PodRequest(stop_id, lot, str(decision), name, datetime.now(UTC), note)

        def sign(store: ShipmentStore) -> ShipmentRecord:
            signatory = store.signatory(user.name)
            return store.record_pod(shipment.shipment_id, request, signatory, actor=_actor(user))

        if _change(sign, f"Lot {lot} {decision}"):
            st.rerun()


def _of(organisation: str | None) -> str:
    if organisation is None or organisation == CARRIER:
        return "fleet staff"
    return f"of {organisation}"


def _release_form(user: User, record: ShipmentRecord) -> None:
    if not sd.can_release(user.role):
        return
    st.subheader("Release or quarantine a lot (quality manager)")
    shipment_id = record.shipment.shipment_id
    lot = st.selectbox("Lot", [lot.number for lot in record.shipment.lots], key="release_lot")
    decision = st.radio(
        "Decision", ["released", "quarantined"], horizontal=True, key="release_decision"
    )
    reason = st.text_input("Why", key="release_reason")
    if st.button("Record the decision", key="release_go") and lot:
        from logistream.shipments.releases import record_release

        try:
            with owner() as conn:
                record_release(
                    conn, shipment_id, lot, str(decision), user.name, reason, actor=_actor(user)
                )
        except LogiStreamError as error:
            st.error(str(error))
            return
        st.session_state["shipment_done"] = f"Lot {lot} {decision}"
        st.rerun()


def _may_change(user: User, record: ShipmentRecord) -> str | None:
    """Why ``user`` may not cancel ``record`` or set its stage (None: it may; its receiver may
    not, as the API's 403 ``not_shipper``)."""
    from logistream.shipments.parties import change_refusal

    shipment = record.shipment
    return change_refusal(user.organisation, shipment.shipper.org_id, shipment.shipment_id)


def _override_form(user: User, record: ShipmentRecord) -> None:
    if not sd.can_dispatch(user.role) or record.status != "active":
        return
    if _may_change(user, record) is not None:
        return
    from logistream.shipments.wire import StageOverride

    shipment = record.shipment
    st.subheader("Set the stage by hand")
    stage = st.selectbox(
        "Stage", list(STAGES), format_func=sd.STAGE_LABELS.__getitem__, key="override_stage"
    )
    stops = list(range(len(shipment.stops)))
    stop = st.selectbox(
        "Stop", stops, format_func=lambda i: shipment.stops[i].name, key="override_stop"
    )
    reason = st.text_input("Why", key="override_reason")
    if st.button("Set the stage", key="override_go") and stage and stop is not None:
        override = StageOverride(stage, int(stop), user.name, datetime.now(UTC), reason)
        if _change(
            lambda store: store.override_stage(shipment.shipment_id, override, actor=_actor(user)),
            f"Stage set to {stage}",
        ):
            st.rerun()


def _report(shipment_id: str) -> None:
    """The same versioned, digest-signed report as `logistream report shipment` and the API
    (the batch layer's public read interface, as the Audits page's trip report)."""
    st.subheader("Shipment report")
    key = f"shipment-report:{shipment_id}"
    if st.button("Get the signed shipment report", key="report_get"):
        from logistream.batch.reports.current import current_shipment_report

        try:
            st.session_state[key] = current_shipment_report(owner, ui.registry(), shipment_id)
        except LogiStreamError as error:
            st.error(str(error))
    content = st.session_state.get(key)
    if content is None:
        st.caption(
            "The report is issued once per version of what it shows (readings, stages, proofs "
            "of delivery, releases); earlier versions are kept."
        )
        return
    from logistream.batch.reports.render import render

    version = content.get("version")
    name = f"shipment-{shipment_id}-v{version}"
    st.markdown(
        f"Report version **{version}** (verdict **{content.get('verdict')}**), SHA-256 of the "
        f"archived readings `{content.get('digest')}`"
    )
    timezone = ui.settings().timezone
    left, middle, right = st.columns(3)
    for column, fmt, mime in (
        (left, "pdf", "application/pdf"),
        (middle, "csv", "text/csv"),
        (right, "json", "application/json"),
    ):
        column.download_button(
            f"Shipment report ({fmt.upper()})",
            render(content, fmt, timezone),
            f"{name}.{fmt}",
            mime,
            key=f"report_{fmt}",
        )


def _live_part(record: ShipmentRecord) -> None:
    """What the speed layer changes, redrawn every few seconds: the headline figures, the
    arrival forecast, the stages timeline and the ETA per stop (Redis only)."""
    s, shipment = ui.settings(), record.shipment
    try:
        views = ui.live()
        live = views.shipment(shipment.shipment_id)
        # A tenant's: only the alerts opened since its shipment began (tenant_view).
        alerts = {a.truck_id for a in tenant_view.open_alerts(views, _user())}
        events = views.stage_events(shipment.shipment_id)
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        live, alerts, events = None, set(), []
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        live, alerts, events = None, set(), []
    stop, eta, _late = sd.next_stop(shipment, live)
    with st.container(horizontal=True, gap="large"):
        st.metric("Status", sd.status_of(record, live, alerts), width="content")
        st.metric("Stage", sd.stage_text(shipment, live), width="content")
        st.metric("Truck", shipment.truck_id, width="content")
        st.metric("Next stop", stop, width="content")
        st.metric("ETA", "—" if eta is None else clock(eta, s.timezone), width="content")
    st.caption(
        f"{shipment.shipper.name} → {shipment.receiver.name} · {record.status}, version "
        f"{record.version} · times in {s.timezone}"
    )
    if live is not None and live.arrival_forecast:
        st.warning(live.arrival_forecast)
    st.subheader("Stages")
    rows = sd.timeline_rows(shipment, events, s.timezone)
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.caption("No stage change seen yet (planned).")
    st.subheader("Stops and ETA")
    st.dataframe(sd.eta_rows(shipment, live, s.timezone), hide_index=True)


def _shipment(record: ShipmentRecord) -> None:
    from logistream.shipments.releases import latest_releases
    from logistream.shipments.store import ShipmentStore

    s, user = ui.settings(), _user()
    shipment = record.shipment
    st.header(f"{shipment.reference} — {shipment.shipment_id}")
    _map(record)
    st.fragment(run_every=REFRESH_S)(_live_part)(record)
    with _reader_for(user.organisation) as conn:
        releases = {
            lot: (r.decision, r.by)
            for lot, r in latest_releases(conn, shipment.shipment_id).items()
        }
        report = latest_shipment_report(conn, shipment.shipment_id)
        changes = ShipmentStore(conn, ui.registry()).changes(shipment.shipment_id)
    st.subheader("Lots")
    st.dataframe(sd.lot_rows(record, releases, report), hide_index=True)
    st.subheader("Changes")
    st.dataframe(sd.change_rows(changes, s.timezone), hide_index=True)
    _pod_form(user, record)
    _release_form(user, record)
    _override_form(user, record)
    _report(shipment.shipment_id)


def _page() -> None:
    user = _user()
    try:
        records = _records(user.organisation)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    except LogiStreamError as error:
        st.error(str(error))
        return
    try:
        views = ui.live()
        live = {state.shipment_id: state for state in views.shipments()}
        alerts = {a.truck_id for a in tenant_view.open_alerts(views, user)}
    except ui.redis_errors() as error:
        st.warning(f"Redis is not answering ({error.__class__.__name__}): no live stage or ETA.")
        live, alerts = {}, set()
    except ui.pg_errors() as error:  # a tenant's trucks in care are read from PostgreSQL
        st.warning(f"PostgreSQL is not answering ({error.__class__.__name__}): no live alerts.")
        live, alerts = {}, set()
    done = st.session_state.pop("shipment_done", None)
    if done:
        st.success(done)
    if sd.can_dispatch(user.role):
        _create(user)
        _cancel(user, records)
    if not records:
        st.info("No shipment yet. A dispatcher creates one from a shipment file.")
        return
    _list(records, live, alerts)
    ids = [r.shipment.shipment_id for r in records]
    labels = {r.shipment.shipment_id: f"{r.shipment.reference} · {r.shipment.shipment_id}"
              for r in records}  # fmt: skip
    wanted = st.query_params.get("shipment")
    index = ids.index(wanted) if wanted in ids else 0
    chosen = st.selectbox(
        "Open a shipment", ids, index=index, format_func=labels.__getitem__, key="open_shipment"
    )
    if chosen is None:
        return
    st.query_params["shipment"] = chosen
    record = next(r for r in records if r.shipment.shipment_id == chosen)
    try:
        _shipment(record)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)


def render() -> None:
    st.title("Shipments")
    _page()
