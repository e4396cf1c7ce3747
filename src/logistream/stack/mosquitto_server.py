"""A private Mosquitto 2 broker for the stack, on its own port: devices in, the gateway out.

Its configuration, password file and ACL are written under ``<home>/mosquitto`` at every
``up`` from the device registry (:mod:`logistream.stack.mqtt_accounts`); a broker already
running re-reads them on SIGHUP, so a device added to ``devices.toml`` can log in after the next
``logistream stack up`` without a restart. Anonymous clients are refused. Sessions and queued
QoS 1 messages persist in ``<home>/mosquitto/data``, so a gateway that was away gets what it
missed.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
from pathlib import Path

from logistream.config import Settings
from logistream.registry.devices import Devices
from logistream.registry.loader import load_registry
from logistream.stack import mqtt_accounts, prereqs
from logistream.stack.process import (
    read_pid,
    require_free_port,
    run_checked,
    running_as_root,
    start_detached,
    stop_pid,
    wait_until,
)
from logistream.stack.secrets import ensure_secrets
from logistream.stack.service import ServiceStatus

START_TIMEOUT_S = 15.0
MAX_QUEUED_MESSAGES = 1_000_000
"""Per client session. Mosquitto's default (1000) would drop readings for a gateway that was
stopped for a minute while a fleet keeps sending."""
MAX_INFLIGHT_MESSAGES = 1000
"""QoS 1 messages sent to a client and not yet acknowledged: the gateway acknowledges only after
Kafka did, so it needs many in flight to keep up."""


def config_text(
    port: int,
    root: Path,
    as_root: bool,
    *,
    address: str = "127.0.0.1",
    data: Path | None = None,
    password_file: Path | None = None,
    acl_file: Path | None = None,
) -> str:
    """``mosquitto.conf`` for a broker on ``address``:``port`` keeping its files in ``root``
    (each path can be named apart: a container copies the files where its user can read them)."""
    lines = [
        "# Written by logistream from the device registry; edits are overwritten.",
        "per_listener_settings false",
        f"listener {port} {address}",
        "allow_anonymous false",
        f"password_file {password_file or root / 'passwd'}",
        f"acl_file {acl_file or root / 'acl'}",
        "persistence true",
        f"persistence_location {data or root / 'data'}/",
        "autosave_interval 60",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        "log_dest stdout",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
    ]
    if as_root:
        # Mosquitto started as root switches to the user "mosquitto", which could not read this
        # stack's mode-0600 files; stay the user who owns them.
        lines.append("user root")
    return "\n".join(lines) + "\n"


def write_container_files(settings: Settings, directory: Path) -> list[Path]:
    """For the official image (``docker-compose.yml``): ``mosquitto.conf``, ``acl`` and
    ``passwd.plain`` (``user:password`` lines, mode 0600) in ``directory``; the paths written.

    At each start the image copies ``acl`` and ``passwd.plain`` into ``/mosquitto/config``,
    hashes the passwords there with ``mosquitto_passwd -U`` (LogiStream's image has no
    ``mosquitto_passwd``) and gives both to its ``mosquitto`` user. The gateway's
    password is the one in ``LOGISTREAM_MQTT_URL`` when set; the devices' are kept in the secrets
    file of ``LOGISTREAM_HOME``, like the local stack's.
    """
    devices = mqtt_accounts.mqtt_devices(load_registry(settings.registry_dir).devices)
    secrets = dict(ensure_secrets(settings, mqtt_accounts.secret_names(Devices.of(devices))))
    if settings.mqtt_url:
        secrets[mqtt_accounts.GATEWAY_SECRET] = mqtt_accounts.gateway_credentials(settings).password
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        directory / "mosquitto.conf": config_text(
            1883,
            directory,
            as_root=False,
            address="0.0.0.0",  # noqa: S104 - inside its container, reached as mosquitto:1883
            data=Path("/mosquitto/data"),
            password_file=Path("/mosquitto/config/passwd"),
            acl_file=Path("/mosquitto/config/acl"),
        ),
        directory / "acl": mqtt_accounts.acl_text(devices),
        directory / "passwd.plain": mqtt_accounts.plain_password_lines(devices, secrets),
    }
    for path, text in files.items():
        _write_private(path, text)
    return list(files)


class MosquittoServer:
    name = "mosquitto"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = (settings.home / "mosquitto").resolve()
        self.config_path = self.root / "mosquitto.conf"
        self.password_path = self.root / "passwd"
        self.acl_path = self.root / "acl"
        self.pid_path = self.root / "mosquitto.pid"
        self.log_path = self.root / "mosquitto.log"

    def devices(self) -> Devices:
        # Read afresh: `stack up` after an edit of devices.toml must see it.
        return load_registry(self.settings.registry_dir).devices

    def pid(self) -> int | None:
        return read_pid(self.pid_path, str(self.config_path))

    def address(self) -> str:
        return f"mqtt://127.0.0.1:{self.settings.mqtt_port}"

    def write_files(self) -> None:
        """The configuration, the hashed password file and the ACL, from the registry."""
        devices = mqtt_accounts.mqtt_devices(self.devices())
        secrets = ensure_secrets(self.settings, mqtt_accounts.secret_names(Devices.of(devices)))
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        _write_private(
            self.config_path,
            config_text(self.settings.mqtt_port, self.root, running_as_root()),
        )
        _write_private(self.acl_path, mqtt_accounts.acl_text(devices))
        # mosquitto_passwd -U hashes a file of user:password lines in place; do it beside the
        # real file and rename, so the broker never reads a half-written or plain-text one.
        descriptor, plain = tempfile.mkstemp(prefix=".passwd-", dir=self.root)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(mqtt_accounts.plain_password_lines(devices, secrets))
            run_checked([prereqs.mosquitto_passwd(), "-U", plain], "mosquitto_passwd -U")
            os.replace(plain, self.password_path)
        finally:
            Path(plain).unlink(missing_ok=True)

    def _answers(self) -> bool:
        # A CONNECT as the gateway: CONNACK return code 0 means up, and the password file read.
        local = self.settings.model_copy(update={"mqtt_url": None})
        credentials = mqtt_accounts.gateway_credentials(local)
        packet = connect_packet(
            "logistream-stack-check", credentials.username, credentials.password
        )
        with socket.create_connection(("127.0.0.1", self.settings.mqtt_port), timeout=2) as sock:
            sock.sendall(packet)
            reply = sock.recv(4)
            accepted = reply[:1] == b"\x20" and reply[3:4] == b"\x00"
            if accepted:
                sock.sendall(DISCONNECT)  # a clean goodbye: no "socket error" in the broker's log
        return accepted

    def up(self) -> None:
        self.write_files()
        pid = self.pid()
        if pid is None:
            require_free_port(self.settings.mqtt_port, "LOGISTREAM_MQTT_PORT")
            start_detached(
                [prereqs.mosquitto(), "-c", str(self.config_path)], self.log_path, self.pid_path
            )
        else:
            os.kill(pid, signal.SIGHUP)  # re-read the password file and the ACL just written
        wait_until(
            self._answers,
            START_TIMEOUT_S,
            f"Mosquitto did not answer on port {self.settings.mqtt_port}; see {self.log_path}",
        )

    def down(self) -> None:
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, timeout_s=30.0)
        self.pid_path.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        return ServiceStatus(
            self.name, "running" if pid else "stopped", self.address(), pid, str(self.log_path)
        )


DISCONNECT = b"\xe0\x00"


def connect_packet(client_id: str, username: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with a clean session, user and password (for the start check)."""

    def text(value: str) -> bytes:
        data = value.encode()
        return len(data).to_bytes(2, "big") + data

    # Protocol name, level 4, flags: user name, password, clean session; keep-alive 10 s.
    variable = text("MQTT") + bytes([4, 0b1100_0010]) + (10).to_bytes(2, "big")
    body = variable + text(client_id) + text(username) + text(password)
    return bytes([0x10]) + _remaining_length(len(body)) + body


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
