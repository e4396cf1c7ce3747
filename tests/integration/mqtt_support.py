"""What the MQTT gateway tests share: publishing as a device with ``mosquitto_pub`` (a client
LogiStream did not write), and ending a gateway's persistent session on the test session's
broker, so it queues nothing of later tests' messages."""

from __future__ import annotations

import subprocess

from logistream.config import Settings
from logistream.stack.mqtt_accounts import device_password, gateway_credentials, telemetry_topic


def publish(settings: Settings, device: str, lines: list[str], qos: int = 1) -> None:
    """``mosquitto_pub -l``: one message per line of stdin, as the device."""
    broker = gateway_credentials(settings)
    done = subprocess.run(
        [
            *("mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", str(qos)),
            *("-V", "mqttv311", "-u", device, "-P", device_password(settings, device)),
            *("-t", telemetry_topic(device), "-l"),
        ],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def end_gateway_session(settings: Settings, instance: str) -> None:
    """A clean-session login with the gateway's client id ends its persistent session."""
    broker = gateway_credentials(settings)
    subprocess.run(
        [
            *("mosquitto_sub", "-h", broker.host, "-p", str(broker.port)),
            *("-i", f"logistream-gateway-{instance}", "-u", broker.username),
            *("-P", broker.password, "-t", "none/such", "-E"),
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
