"""Connecting a paho client to the MQTT broker, for the gateway and the simulated devices alike:
a broker that does not answer stops the command in one line saying what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from logistream.errors import LogiStreamError

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

KEEPALIVE_S: Final = 30


def connect(client: mqtt.Client, host: str, port: int) -> None:
    """Open the client's connection (the CONNACK comes later, to its ``on_connect``)."""
    try:
        client.connect(host, port, keepalive=KEEPALIVE_S)
    except OSError as error:
        raise LogiStreamError(
            f"cannot reach the MQTT broker at {host}:{port} ({error}); "
            "run `logistream stack up` or check LOGISTREAM_MQTT_URL"
        ) from error
