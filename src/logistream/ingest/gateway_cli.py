"""``logistream gateway mqtt|teltonika``: device gateways that turn what real trackers send into
readings on ``truck_telemetry``. Heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path
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
    group: Annotated[
        str | None,
        typer.Option(
            help="Share the devices' messages with the other gateways of this group (an MQTT "
            "shared subscription). Without it one gateway takes them all, and a broker restart "
            "loses nothing; Mosquitto 2.0 forgets shared subscriptions when it restarts, so with "
            "a group, readings sent before the gateways subscribe again are lost."
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.")
    ] = None,
) -> None:
    """Subscribe to logistream/devices/+/telemetry (or share it, with --group) and produce
    each device's readings to truck_telemetry; a message is acknowledged to the broker only once
    Kafka has it."""
    from logistream.ingest.mqtt_gateway import run

    run(instance, group, metrics_port)


def teltonika(
    host: Annotated[
        str, typer.Option(help="Address to listen on (all interfaces by default).")
    ] = "0.0.0.0",  # noqa: S104 - trackers connect from the mobile network
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port (5027: Teltonika's usual one).")
    ] = 5027,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.")
    ] = None,
    io_mappings: Annotated[
        Path | None,
        typer.Option(
            help="IO mapping file (default: io_mappings.toml in LOGISTREAM_REGISTRY_DIR if "
            "there is one, else the shipped one)."
        ),
    ] = None,
    kafka_timeout: Annotated[
        float,
        typer.Option(min=0.5, help="Seconds Kafka has to acknowledge a packet's readings."),
    ] = 10.0,
    idle_timeout: Annotated[
        float, typer.Option(min=1.0, help="Close a connection silent this many seconds.")
    ] = 600.0,
) -> None:
    """Serve Teltonika trackers (Codec 8 / 8 Extended over TCP): registered IMEIs only; each
    packet is answered once Kafka has its readings on truck_telemetry."""
    from logistream.ingest.teltonika_gateway import GatewayOptions, run

    options = GatewayOptions(host, port, kafka_timeout, idle_timeout, metrics_port)
    run(options, io_mappings)


def register(app: typer.Typer) -> None:
    """Add ``gateway`` and its subcommands to ``app``."""
    gateway_app = typer.Typer(
        help="Device gateways: MQTT (through Mosquitto) and Teltonika Codec 8/8E over TCP.",
        no_args_is_help=True,
        add_completion=False,
    )
    gateway_app.command("mqtt")(mqtt)
    gateway_app.command("teltonika")(teltonika)
    app.add_typer(gateway_app, name="gateway")
