"""Mosquitto in the stack, with the real broker and a client LogiStream did not write
(mosquitto_pub / mosquitto_sub): a device's reading reaches the gateway user; a wrong password
and an anonymous client are refused; a device cannot publish to another device's topic; `stack
status` shows the broker, `down` stops it; a device added to the registry can log in after the
next `stack up`, without a restart."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from queue import Empty, Queue

import pytest
from tests.helpers import LOGISTREAM

from logistream.config import Settings, child_env
from logistream.registry import load_registry
from logistream.stack.mqtt_accounts import device_password, gateway_credentials, telemetry_topic
from logistream.stack.process import free_port, pid_alive


def _stack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGISTREAM, "stack", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _publish(
    settings: Settings, user: str | None, password: str | None, topic: str, message: str
) -> subprocess.CompletedProcess[str]:
    gateway = gateway_credentials(settings)
    login = ["-u", user, "-P", password] if user is not None and password is not None else []
    return subprocess.run(
        [
            *("mosquitto_pub", "-h", gateway.host, "-p", str(gateway.port), "-q", "1"),
            *("-V", "mqttv311", *login, "-t", topic, "-m", message),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


class Gateway:
    """``mosquitto_sub`` as the gateway user on a shared subscription; lines in a queue."""

    def __init__(self, settings: Settings) -> None:
        gateway = gateway_credentials(settings)
        self.lines: Queue[str] = Queue()
        self.process = subprocess.Popen(
            [
                # stdbuf: line-buffered, so the SUBACK of -d shows at once through the pipe.
                *("stdbuf", "-oL", "mosquitto_sub", "-h", gateway.host, "-p", str(gateway.port)),
                *("-q", "1", "-d", "-v", "-u", gateway.username, "-P", gateway.password),
                *("-t", "$share/gateways/logistream/devices/+/telemetry"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        try:
            # -d prints the SUBACK: from then on every message is delivered.
            self.wait_for(lambda line: "SUBACK" in line, "the gateway's SUBACK")
        except BaseException:
            self.stop()  # no subscriber left behind when the broker never answered
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, wanted: object, what: str, timeout: float = 20.0) -> list[str]:
        """Lines up to and including the first that ``wanted`` accepts."""
        assert callable(wanted)
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except Empty:
                raise AssertionError(f"no {what}; the gateway saw {seen}") from None
            seen.append(line)
            if wanted(line):
                return seen

    def messages(self, lines: list[str]) -> list[str]:
        return [line for line in lines if line.startswith("logistream/devices/")]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class OwnBroker:
    settings: Settings
    env: dict[str, str]
    registry: Path


@pytest.fixture
def own_broker(settings: Settings, tmp_path: Path) -> Iterator[OwnBroker]:
    """`stack up` in a home of its own: Kafka, PostgreSQL and Redis are the session's (named by
    the test's settings), so only Mosquitto starts, on a free port, from a registry folder."""
    registry = tmp_path / "registry"
    registry.mkdir()
    shipped = resources.files("logistream.registry").joinpath("data")
    for name in ("cargo.toml", "routes.toml", "fleet.toml", "devices.toml"):
        (registry / name).write_bytes(shipped.joinpath(name).read_bytes())
    own = settings.model_copy(
        update={
            "home": tmp_path / "own-home",
            "mqtt_url": None,
            "mqtt_port": free_port(),
            "registry_dir": registry,
        }
    )
    env = child_env(own)
    try:
        yield OwnBroker(own, env, registry)
    finally:
        _stack(env, "down", "--purge")


def _mosquitto_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("mosquitto "))


def test_devices_reach_the_gateway_only_on_their_own_topic_with_their_own_password(
    own_broker: OwnBroker,
) -> None:
    settings, env = own_broker.settings, own_broker.env
    up = _stack(env, "up")
    assert up.returncode == 0, up.stderr
    line = _mosquitto_line(up.stdout)
    assert f"running   mqtt://127.0.0.1:{settings.mqtt_port}" in line
    pid = int(line.split("pid ")[1])
    status = _stack(env, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert _mosquitto_line(status.stdout) == line
    for name in ("kafka", "postgres", "redis"):
        assert any(s.startswith(f"{name} ") and "external" in s for s in status.stdout.splitlines())
    assert "password" not in status.stdout

    first, second = load_registry(own_broker.registry).devices.of_kind("mqtt")[:2]
    gateway = Gateway(settings)
    try:
        own = _publish(
            settings,
            first.device_id,
            device_password(settings, first.device_id),
            telemetry_topic(first.device_id),
            '{"truck_id": "mine"}',
        )
        assert own.returncode == 0, own.stderr
        got = gateway.wait_for(lambda s: '"mine"' in s, "reading from the device's own topic")
        assert gateway.messages(got) == [
            f'{telemetry_topic(first.device_id)} {{"truck_id": "mine"}}'
        ]

        # The broker takes a forged publish (MQTT 3.1.1 has no way to refuse one) and drops
        # it; the other device's own reading, sent after, arrives alone.
        forged = _publish(
            settings,
            first.device_id,
            device_password(settings, first.device_id),
            telemetry_topic(second.device_id),
            '{"truck_id": "forged"}',
        )
        assert forged.returncode == 0, forged.stderr
        honest = _publish(
            settings,
            second.device_id,
            device_password(settings, second.device_id),
            telemetry_topic(second.device_id),
            '{"truck_id": "honest"}',
        )
        assert honest.returncode == 0, honest.stderr
        got = gateway.wait_for(lambda s: '"honest"' in s, "reading of the second device")
        assert gateway.messages(got) == [
            f'{telemetry_topic(second.device_id)} {{"truck_id": "honest"}}'
        ]

        wrong = _publish(
            settings, first.device_id, "not-its-password", telemetry_topic(first.device_id), "{}"
        )
        assert wrong.returncode != 0
        assert "not authorised" in wrong.stderr
        anonymous = _publish(settings, None, None, telemetry_topic(first.device_id), "{}")
        assert anonymous.returncode != 0
        assert "not authorised" in anonymous.stderr
        # Another device's password does not open this device's account either.
        swapped = _publish(
            settings,
            first.device_id,
            device_password(settings, second.device_id),
            telemetry_topic(first.device_id),
            "{}",
        )
        assert "not authorised" in swapped.stderr
    finally:
        gateway.stop()

    down = _stack(env, "down")
    assert down.returncode == 0, down.stderr
    assert not pid_alive(pid)
    assert "stopped" in _mosquitto_line(down.stdout)
    assert _stack(env, "status").returncode == 3


def test_a_device_added_to_the_registry_logs_in_after_the_next_up_without_a_restart(
    own_broker: OwnBroker,
) -> None:
    settings, env = own_broker.settings, own_broker.env
    up = _stack(env, "up")
    assert up.returncode == 0, up.stderr
    pid = int(_mosquitto_line(up.stdout).split("pid ")[1])
    new_id = f"unit-{uuid.uuid4().hex[:6]}"
    # A truck has one device: the new device comes with a new truck.
    with (own_broker.registry / "fleet.toml").open("a") as fleet:
        fleet.write(
            '\n[[truck]]\nid = "KZZ 001A"\ndriver = "DRV-099"\nroute = "naivasha_mombasa"\n'
            'cargo = "milk"\n'
        )
    with (own_broker.registry / "devices.toml").open("a") as devices:
        devices.write(f'\n[[device]]\nid = "{new_id}"\nkind = "mqtt"\ntruck = "KZZ 001A"\n')

    again = _stack(env, "up")
    assert again.returncode == 0, again.stderr
    assert int(_mosquitto_line(again.stdout).split("pid ")[1]) == pid, "no restart"
    gateway = Gateway(settings)
    try:
        sent = _publish(
            settings,
            new_id,
            device_password(settings, new_id),
            telemetry_topic(new_id),
            '{"truck_id": "KZZ 001A"}',
        )
        assert sent.returncode == 0, sent.stderr
        got = gateway.wait_for(lambda s: "KZZ 001A" in s, "the new device's reading")
        assert gateway.messages(got) == [f'{telemetry_topic(new_id)} {{"truck_id": "KZZ 001A"}}']
    finally:
        gateway.stop()


def test_the_session_stack_runs_a_broker_the_tests_settings_name(settings: Settings) -> None:
    """The test stack's Mosquitto, as a test sees it: its settings log in as the gateway, and
    its home's secrets file has the devices' passwords."""
    assert settings.mqtt_url is not None
    device = load_registry().devices.of_kind("mqtt")[0]
    gateway = Gateway(settings)
    try:
        sent = _publish(
            settings,
            device.device_id,
            device_password(settings, device.device_id),
            telemetry_topic(device.device_id),
            '{"truck_id": "session"}',
        )
        assert sent.returncode == 0, sent.stderr
        gateway.wait_for(lambda s: '"session"' in s, "the reading through the session broker")
    finally:
        gateway.stop()


def test_a_named_broker_is_shown_external_and_a_wrong_url_stops_the_command(
    settings_env: dict[str, str], settings: Settings
) -> None:
    status = _stack(settings_env, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    gateway = gateway_credentials(settings)
    assert _mosquitto_line(status.stdout).split() == [
        "mosquitto",
        "external",
        f"mqtt://gateway@127.0.0.1:{gateway.port}",
    ]
    assert gateway.password not in status.stdout

    wrong = _stack({**settings_env, "LOGISTREAM_MQTT_URL": "mqtt://gw:pw@broker:port"}, "status")
    assert wrong.returncode == 2
    assert wrong.stderr.splitlines() == [
        "logistream: LOGISTREAM_MQTT_URL: the port must be a number from 1 to 65535 "
        "(mqtt://user:password@host:port) (got 'mqtt://gw@broker:port')"
    ]
