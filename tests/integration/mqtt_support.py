"""What the MQTT gateway tests share: ending a gateway's persistent session on the test
session's broker, so it queues nothing of later tests' messages."""

from __future__ import annotations

import subprocess

from logistream.config import Settings
from logistream.stack.mqtt_accounts import gateway_credentials


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
