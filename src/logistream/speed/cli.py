"""Commands of the speed layer: ``speed`` (the stream processor) and ``alerts`` (list, ack)."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logistream import shutdown
from logistream.errors import LogiStreamError
from logistream.log_setup import setup_logging

if TYPE_CHECKING:
    from redis import Redis


def _redis() -> Redis:
    import redis

    from logistream.config import get_settings, resolve_endpoints

    url = resolve_endpoints(get_settings()).redis_url
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        where = url.rsplit("@", 1)[-1]
        raise LogiStreamError(
            f"cannot reach Redis at {where} ({error}); is the stack up (`logistream stack up`)?"
        ) from error
    return client


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


def list_alerts(
    ctx: typer.Context,
    active: Annotated[bool, typer.Option("--active", help="Only open and acknowledged.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List alerts from the live views (newest change first; --active: most severe first)."""
    if ctx.invoked_subcommand is not None:
        return
    from logistream.events import encode
    from logistream.live_views import RedisLiveViews

    alerts = RedisLiveViews(_redis()).alerts(active_only=active)
    if as_json:
        for alert in alerts:
            sys.stdout.write(encode(alert).decode() + "\n")
        return
    if not alerts:
        typer.echo("no alerts" if not active else "no active alerts")
        return
    for a in alerts:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(a.opened_at))
        typer.echo(f"{a.alert_id}  {a.state:<12} {a.severity:<8} {a.rule:<18} {when}Z  {a.message}")


def ack(
    alert_id: Annotated[str, typer.Argument(help="The alert's id (see `logistream alerts`).")],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges.")],
    note: Annotated[str, typer.Option("--note", help="What is being done about it.")] = "",
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the speed layer to apply it (0: don't).")
    ] = 10.0,
) -> None:
    """Acknowledge an alert: publishes a command on alert_commands; the speed layer applies it."""
    from logistream.config import get_settings
    from logistream.events import AlertCommand, encode
    from logistream.kafka import durable_producer
    from logistream.live_views import RedisLiveViews

    live = RedisLiveViews(_redis())
    alert = live.alert(alert_id)
    if alert is None:
        raise LogiStreamError(f"no alert {alert_id} in the live views; see `logistream alerts`")
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
    producer.produce(settings.topic_commands, encode(command), alert.truck_id)
    if producer.flush(30):
        raise LogiStreamError(
            f"Kafka did not accept the acknowledgement on {settings.topic_commands}"
        )
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
