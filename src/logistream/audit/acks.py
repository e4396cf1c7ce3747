"""Acknowledgements on the audit trail: one row per acknowledgement that reached Kafka.

An acknowledgement is a request (an ``AlertCommand`` on ``alert_commands``) made from four
places: the dashboard's Alerts page, ``POST /v1/alerts/{id}/ack``, the e-mailed ack links and
``logistream alerts ack``. Each calls :func:`send_and_record` with its own owner connection and
its own way of sending; the speed layer then applies the command (it holds no database
connection, so the row cannot be written where the acknowledgement is applied).

Choices where the issue is silent:
- The row is written at the request, with the requester's :class:`Actor` (the signed-in user
  from the dashboard, the token's name from the API, the name signed into the link, source
  ``api``, for a link, ``cli:<OS user>`` for the CLI, whose ``--by`` is only declared), because
  that is where we know who asked and from where.
- Order: connect to PostgreSQL first, then send, then append the row. A request that cannot
  reach Kafka leaves no row (the send raises before it); one that cannot reach PostgreSQL is
  not sent at all. Only if PostgreSQL fails between the send and the append is an
  acknowledgement sent without its row: :class:`AckNotRecorded` then says so in one line. The
  audit lock is never held while waiting for Kafka (audited writes would queue behind it).
- Action ``ack``, subject ``alert``/alert id, ``before`` = the alert's state when asked
  (``{"state": "open"}``), ``after`` = ``{"by", "truck", "rule", "trip", "note",
  "command_id"}`` plus ``"via": "ack_link"`` for a link (its source is ``api`` like the API's),
  ``reason`` = the note (None when empty). The row records the request as Kafka accepted it:
  if the alert resolved meanwhile, the speed layer ignores the command, and the archive's
  ``alert_changes`` (matched by alert id) says what was applied.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final, Literal

from logistream.audit.trail import Actor, record
from logistream.errors import StoreUnavailable

if TYPE_CHECKING:
    import psycopg

    from logistream.config import Settings
    from logistream.events import Alert, AlertCommand

ACTION: Final = "ack"
SUBJECT_KIND: Final = "alert"
Via = Literal["ack_link"]


class AckNotRecorded(StoreUnavailable):
    """The acknowledgement was sent, but its audit row could not be written (PostgreSQL)."""

    def __init__(self, detail: str) -> None:
        super().__init__("postgres", detail)


def ack_entry(alert: Alert, command: AlertCommand, via: Via | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`logistream.audit.trail.record` for ``command`` (pure)."""
    after: dict[str, Any] = {
        "by": command.by,
        "truck": command.truck_id,
        "rule": alert.rule,
        "trip": alert.trip_id,
        "note": command.note,
        "command_id": command.command_id,
    }
    if via is not None:
        after["via"] = via
    return {
        "action": ACTION,
        "subject_kind": SUBJECT_KIND,
        "subject_id": command.alert_id,
        "before": {"state": alert.state},
        "after": after,
        "reason": command.note.strip() or None,
    }


def record_ack(
    conn: psycopg.Connection[Any],
    actor: Actor,
    alert: Alert,
    command: AlertCommand,
    via: Via | None = None,
) -> int:
    """Append the acknowledgement's row in ``conn``'s transaction; returns its seq."""
    return record(conn, actor, **ack_entry(alert, command, via))


def send_and_record(
    owner: AbstractContextManager[psycopg.Connection[Any]],
    actor: Actor,
    alert: Alert,
    command: AlertCommand,
    send: Callable[[AlertCommand], object],
    via: Via | None = None,
) -> int:
    """Open ``owner`` (the owner's connection), ``send`` the command, then append its row.

    Raises what ``owner`` or ``send`` raise (nothing was recorded), or :class:`AckNotRecorded`.
    """
    with owner as conn:
        send(command)
        try:
            seq = record_ack(conn, actor, alert, command, via)
            if not conn.autocommit:
                conn.commit()
        except Exception as error:
            raise AckNotRecorded(
                f"the acknowledgement of alert {command.alert_id} was sent, but its audit row "
                f"could not be written ({error.__class__.__name__}: {error}); record it by hand"
            ) from error
    return seq


def owner_connection(settings: Settings) -> AbstractContextManager[psycopg.Connection[Any]]:
    """The owner's connection (autocommit) for the places that have none of their own."""
    import psycopg

    from logistream.config import resolve_endpoints

    url = resolve_endpoints(settings).database_url
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise StoreUnavailable(
            "postgres",
            f"PostgreSQL is not answering ({error.__class__.__name__}), so the acknowledgement "
            "was not sent (it must be on the audit trail); try again shortly",
        ) from error
