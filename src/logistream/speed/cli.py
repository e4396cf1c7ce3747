"""Commands of the speed layer: ``speed`` (the stream processor) and ``alerts`` (list, ack).

``logistream alerts`` is for a dispatcher at a terminal: open and acknowledged alerts by default
(``--all`` adds the recently resolved), in the order they opened, as a table with a header, the
truck, and the opening time in the display zone (``LOGISTREAM_TIMEZONE``). Each alert shows the
shortest prefix of its id (8 characters at least) that no other alert shares, and ``alerts ack``
takes such a prefix. ``--json`` gives the same alerts as the wire contract's objects (UTC epochs).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logistream import shutdown
from logistream.display_time import show
from logistream.errors import LogiStreamError, NotFound, Refused
from logistream.log_setup import setup_logging

if TYPE_CHECKING:
    from redis import Redis

    from logistream.events import Alert
    from logistream.live_views import LiveViews

SHORT_ID = 8
"""Fewest characters of an alert id shown; more where two alerts would share them."""


def redis_client() -> Redis:
    """A connection to the live views' Redis, or one line saying how to start it."""
    from logistream.config import get_settings, resolve_endpoints
    from logistream.live_views.connect import checked_client

    return checked_client(resolve_endpoints(get_settings()).redis_url)


def speed(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.")
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            help="A rules.toml with your thresholds (default: LOGISTREAM_RULES_FILE, else the "
            "shipped one)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Readings per batch at most.")] = 2000,
    instance: Annotated[
        str | None, typer.Option(help="Name in the heartbeat (default: host-pid).")
    ] = None,
    checkpoint_s: Annotated[
        float, typer.Option(min=0.1, help="Seconds between rule-state checkpoints.")
    ] = 5.0,
) -> None:
    """Run the stream processor: truck_telemetry -> rules -> Redis views and truck_alerts."""
    from logistream.config import get_settings
    from logistream.errors import BatchAbandoned
    from logistream.registry.rules import load_rules_config
    from logistream.speed.metrics import Metrics
    from logistream.speed.stream_processor import SpeedProcessor

    setup_logging()
    settings = get_settings()
    metrics = Metrics()
    if metrics_port is not None:
        metrics.serve(metrics_port)
    processor = SpeedProcessor(
        settings,
        rules=load_rules_config(rules or settings.rules_file),
        batch_size=batch_size,
        instance=instance,
        metrics=metrics,
        checkpoint_interval_s=checkpoint_s,
    )
    typer.echo(
        f"speed layer: {settings.topic_telemetry} -> Redis + {settings.topic_alerts} "
        f"(group {settings.speed_group}); Ctrl+C stops"
    )
    # First signal: finish the batch in hand, checkpoint, commit, exit 0. Second: kill.
    with shutdown.stop_on_signals() as stop:
        try:
            processor.run(stop)
        except BatchAbandoned as abandoned:
            typer.echo(f"speed layer stopped: {abandoned}")
            return
    typer.echo("speed layer stopped cleanly")


def in_time_order(alerts: Iterable[Alert]) -> list[Alert]:
    """Alerts in the order they opened (the newest last, nearest the prompt)."""
    return sorted(alerts, key=lambda a: (a.opened_at, a.alert_id))


def short_id_length(ids: Iterable[str], minimum: int = SHORT_ID) -> int:
    """The fewest characters (``minimum`` at least) at which no two of ``ids`` look the same."""
    unique = set(ids)
    longest = max((len(i) for i in unique), default=minimum)
    for length in range(minimum, longest + 1):
        if len({i[:length] for i in unique}) == len(unique):
            return length
    return longest


def resolve_prefix(prefix: str, ids: Iterable[str]) -> str:
    """The one id that starts with ``prefix``; :class:`NotFound` for none, :class:`Refused`
    (reason ``ambiguous``) for several."""
    unique = set(ids)
    if prefix in unique:
        return prefix
    matches = sorted(i for i in unique if i.startswith(prefix)) if prefix else []
    if not matches:
        raise NotFound(
            "alert", prefix, f"no alert {prefix!r} in the live views; see `logistream alerts --all`"
        )
    if len(matches) > 1:
        shown = ", ".join(m[: short_id_length(matches)] for m in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise Refused(
            "ambiguous",
            f"{prefix!r} is the start of {len(matches)} alert ids ({shown}{more}); "
            "give more of the id",
            field="ALERT_ID",
        )
    return matches[0]


def alert_table(alerts: Sequence[Alert], timezone: str, id_length: int) -> list[str]:
    """The listing's lines: a header, then one line per alert in the given order."""
    rows = [
        (
            show(a.opened_at, timezone, seconds=False),
            a.truck_id,
            a.severity,
            a.rule,
            a.state,
            a.alert_id[:id_length],
            a.message,
        )
        for a in alerts
    ]
    header = ("OPENED", "TRUCK", "SEVERITY", "RULE", "STATE", "ID", "MESSAGE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    # Every column padded to its widest cell but the message, which ends the line.
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in [header, *rows]
    ]


def _known_ids(live: LiveViews) -> list[str]:
    # What `alerts --all` can show: every open or acknowledged alert and the recent others.
    return [a.alert_id for a in [*live.alerts(active_only=True), *live.alerts()]]


def list_alerts(
    ctx: typer.Context,
    show_all: Annotated[
        bool, typer.Option("--all", help="Resolved alerts too (the recent ones).")
    ] = False,
    active: Annotated[
        bool, typer.Option("--active", hidden=True, help="Open and acknowledged (the default).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List open and acknowledged alerts in the order they opened (--all: resolved ones too)."""
    if ctx.invoked_subcommand is not None:
        return
    from logistream.config import get_settings
    from logistream.events import encode
    from logistream.live_views import RedisLiveViews

    del active  # the default; kept so scripts written for it keep working
    live = RedisLiveViews(redis_client())
    alerts = in_time_order(live.alerts(active_only=not show_all))
    if as_json:
        for alert in alerts:
            sys.stdout.write(encode(alert).decode() + "\n")
        return
    if not alerts:
        typer.echo("no alerts" if show_all else "no open alerts")
        return
    timezone = get_settings().timezone
    for line in alert_table(alerts, timezone, short_id_length(_known_ids(live))):
        typer.echo(line.rstrip())


def ack(
    alert_id: Annotated[
        str,
        typer.Argument(help="The alert's id, or its start as `logistream alerts` shows it."),
    ],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges.")],
    note: Annotated[str, typer.Option("--note", help="What is being done about it.")] = "",
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the speed layer to apply it (0: don't).")
    ] = 10.0,
) -> None:
    """Acknowledge an alert: publishes a command on alert_commands; the speed layer applies it."""
    from logistream.audit.acks import owner_connection, send_and_record
    from logistream.audit.actors import cli_actor
    from logistream.config import get_settings
    from logistream.events import AlertCommand, encode
    from logistream.kafka import durable_producer
    from logistream.live_views import RedisLiveViews

    live = RedisLiveViews(redis_client())
    alert = live.alert(alert_id)
    if alert is None:
        alert_id = resolve_prefix(alert_id, _known_ids(live))
        alert = live.alert(alert_id)
    if alert is None:  # resolved and expired between the two reads
        raise NotFound("alert", alert_id, f"no alert {alert_id} in the live views any more")
    if alert.state != "open":
        typer.echo(f"alert {alert_id} is already {alert.state}")
        return
    settings = get_settings()
    command = AlertCommand(
        action="ack",
        alert_id=alert_id,
        truck_id=alert.truck_id,
        by=by,
        note=note,
        issued_at=time.time(),
        command_id=str(uuid.uuid4()),
    )
    producer = durable_producer(settings)

    def send(command: AlertCommand) -> None:
        errors = producer.send_all(settings.topic_commands, [(alert.truck_id, encode(command))], 30)
        if errors:  # a delivery report's error too, not only what flush leaves
            raise LogiStreamError(
                f"Kafka did not accept the acknowledgement on {settings.topic_commands}"
            )

    # On the audit trail as cli:<OS user> once Kafka has it (--by is only declared).
    send_and_record(owner_connection(settings), cli_actor(), alert, command, send)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        current = live.alert(alert_id)
        if current is not None and current.state != "open":
            typer.echo(f"alert {alert_id} {current.state} by {by}")
            return
        time.sleep(0.2)
    typer.echo(
        f"acknowledgement of {alert_id} published"
        + ("; not applied yet (is `logistream speed` running?)" if wait else "")
    )


def register(app: typer.Typer) -> None:
    """Add this layer's commands to ``app``."""
    app.command("speed")(speed)
    alerts_app = typer.Typer(
        help="List and acknowledge alerts.", no_args_is_help=False, add_completion=False
    )
    alerts_app.callback(invoke_without_command=True)(list_alerts)
    alerts_app.command("ack")(ack)
    app.add_typer(alerts_app, name="alerts")
