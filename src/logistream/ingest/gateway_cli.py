"""``logistream gateway mqtt|teltonika``: device gateways that turn what real trackers send into
readings on ``truck_telemetry``. Heavy imports happen inside the commands."""

from __future__ import annotations

from typing import Annotated

import typer


def mqtt(
    instance: Annotated[
        str,
        typer.Option(
            help="This gateway's name: its MQTT session (kept across restarts, so nothing "
            "unacknowledged is lost) is named after it. Give each gateway process its own."
        ),
    ] = "1",
) -> None:
    """Subscribe to logistream/devices/+/telemetry (shared with the other gateways) and produce
    each device's readings to truck_telemetry; a message is acknowledged to the broker only once
    Kafka has it."""
    from logistream.ingest.mqtt_gateway import run

    run(instance)


def register(app: typer.Typer) -> None:
    """Add ``gateway`` and its subcommands to ``app``."""
    gateway_app = typer.Typer(
        help="Device gateways: MQTT (through Mosquitto) and Teltonika Codec 8/8E over TCP.",
        no_args_is_help=True,
        add_completion=False,
    )
    gateway_app.command("mqtt")(mqtt)
    app.add_typer(gateway_app, name="gateway")
