"""The Audit trail page in Streamlit's AppTest, over real PostgreSQL.

Rows written by ``audit.trail.record`` (as the owner) show for an admin, newest first, with
their changed keys; the subject-kind filter narrows them to one kind; "Check the chain" says
the log is intact, and after one row is altered behind the append-only trigger
(``session_replication_role = replica``) names that row (the row is put back afterwards, so
the session's log stays intact for the other tests). A dispatcher is refused.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

import psycopg
import pytest
from streamlit.testing.v1 import AppTest
from tests.integration.test_dashboard_pages import dashboard  # noqa: F401 (a fixture)

from logistream.audit.trail import Actor, record
from logistream.config import Settings
from logistream.reads import audit_log as reads
from logistream.reads.audit_log import TrailFilter
from logistream.reads.connect import connect_reader
from logistream.serving import audit_log_data as ad
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User

ADMIN = User("ann", "admin")
DISPATCHER = User("dan", "dispatcher")


def _owner(settings: Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(settings.database_url or "", autocommit=True)


@pytest.fixture
def trail(dashboard: Settings) -> tuple[Settings, str, str, list[int]]:  # noqa: F811
    """Three rows of a subject kind of this test's own and one of another: (settings, kind,
    other kind, seqs of the three)."""
    tag = uuid.uuid4().hex[:8]
    kind, other = f"crate_{tag}", f"pallet_{tag}"
    seqs: list[int] = []
    with _owner(dashboard) as conn:
        for i, (before, after) in enumerate(
            [
                (None, {"status": "active", "lot": "L1"}),
                ({"status": "active", "lot": "L1"}, {"status": "cancelled", "lot": "L1"}),
                ({"stage": 1}, {"stage": 2}),
            ]
        ):
            seqs.append(
                record(
                    conn,
                    Actor("ann", "dashboard" if i else "cli"),
                    action=["create", "cancel", "override"][i],
                    subject_kind=kind,
                    subject_id=f"C-{tag}-{i}",
                    before=before,
                    after=after,
                    reason="asked by the shipper" if i == 1 else None,
                )
            )
        record(
            conn,
            Actor("erp-link", "api", "acme"),
            action="create",
            subject_kind=other,
            subject_id=f"P-{tag}",
            before=None,
            after={"status": "active"},
        )
    return dashboard, kind, other, seqs


def _page(user: User) -> AppTest:
    script = "from logistream.serving.screens import audit_log\naudit_log.render()\n"
    page = AppTest.from_string(script, default_timeout=60)
    page.session_state[USER_KEY] = user
    return page.run()


def _rows(page: AppTest) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.dataframe[0].value.to_dict("records")
    return rows


def test_an_admin_sees_the_rows_and_the_kind_filter_narrows_them(
    trail: tuple[Settings, str, str, list[int]],
) -> None:
    _, kind, other, seqs = trail
    page = _page(ADMIN)
    assert not page.exception
    rows = _rows(page)
    assert rows[0]["Subject"].startswith(other)  # newest first
    assert {r["#"] for r in rows} >= set(seqs)

    page.selectbox(key="audit_log_kind").set_value(kind).run()
    assert not page.exception
    rows = _rows(page)
    assert [r["#"] for r in rows] == sorted(seqs, reverse=True)
    cancel = rows[1]
    assert cancel["Change"] == "status: active -> cancelled"
    assert cancel["From"] == "dashboard"
    assert cancel["Organisation"] == "carrier"
    assert cancel["Reason"] == "asked by the shipper"
    assert rows[2]["From"] == "CLI"
    assert rows[0]["Change"] == "stage: 1 -> 2"

    page.selectbox(key="audit_log_kind").set_value(other).run()
    assert [r["Who"] for r in _rows(page)] == ["erp-link"]
    assert _rows(page)[0]["Organisation"] == "acme"

    # Days long past: nothing of this kind.
    page.date_input(key="audit_log_days").set_value((date(2020, 1, 1), date(2020, 1, 2))).run()
    assert not page.dataframe
    assert any("No audit row matches" in i.value for i in page.info)


def test_the_chain_check_says_intact_then_names_an_altered_row(
    trail: tuple[Settings, str, str, list[int]],
) -> None:
    settings, _, _, seqs = trail
    with _owner(settings) as conn:
        total = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    assert total is not None
    page = _page(ADMIN)
    page.button(key="audit_log_verify").click().run()
    assert not page.exception
    assert [s.value for s in page.success] == [
        f"The chain is intact: {total[0]} rows (last #{total[0]})."
    ]

    altered = seqs[1]
    with _owner(settings) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit_log SET reason = 'nobody asked' WHERE seq = %s", [altered])
    try:
        page = _page(ADMIN)
        page.button(key="audit_log_verify").click().run()
        assert not page.exception
        assert not page.success
        [error] = [e.value for e in page.error]
        assert error.startswith(f"The chain breaks at row #{altered} (altered): its hash does not")
    finally:
        with _owner(settings) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute(
                "UPDATE audit_log SET reason = 'asked by the shipper' WHERE seq = %s", [altered]
            )
    page = _page(ADMIN)
    page.button(key="audit_log_verify").click().run()
    assert [s.value for s in page.success] == [
        f"The chain is intact: {total[0]} rows (last #{total[0]})."
    ]


def test_a_dispatcher_is_refused(trail: tuple[Settings, str, str, list[int]]) -> None:
    page = _page(DISPATCHER)
    assert not page.exception
    assert [i.value for i in page.info] == [ad.REFUSAL]
    assert not page.dataframe
    assert not page.button


def test_the_csv_rows_are_the_filtered_rows_read_as_the_reader(
    trail: tuple[Settings, str, str, list[int]],
) -> None:
    # What the download button's callable does: its own reader connection, every filtered row.
    settings, kind, _, seqs = trail
    tag = kind.removeprefix("crate_")
    wanted = TrailFilter(subject_contains=f"c-{tag}", source="dashboard")  # case-insensitive
    with connect_reader(settings) as conn:
        rows = reads.fetch(conn, wanted, ad.CSV_MAX_ROWS)
    assert [r.seq for r in rows] == [seqs[2], seqs[1]]
    lines = list(csv.DictReader(io.StringIO(ad.csv_text(rows, settings.timezone))))
    assert [line["change"] for line in lines] == ["stage: 1 -> 2", "status: active -> cancelled"]
