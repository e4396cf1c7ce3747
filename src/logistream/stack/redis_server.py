"""A private Redis 7 instance for the stack, on its own port, with a generated password."""

from __future__ import annotations

from logistream.config import Settings
from logistream.stack import prereqs, security
from logistream.stack.process import (
    read_pid,
    require_free_port,
    start_detached,
    stop_pid,
    wait_until,
)
from logistream.stack.secrets import ensure_secrets
from logistream.stack.service import ServiceStatus

START_TIMEOUT_S = 30.0


class RedisServer:
    name = "redis"

    def __init__(self, settings: Settings, secure: bool = False) -> None:
        self.settings = settings
        # Secure: an ACL user per service, the default user off, the stack itself is "admin".
        self.secure = secure
        self.root = (settings.home / "redis").resolve()
        self.config_path = self.root / "redis.conf"
        self.pid_path = self.root / "redis.pid"
        self.log_path = self.root / "redis.log"

    def _config(self, password: str) -> str:
        return "\n".join(
            [
                "bind 127.0.0.1",
                f"port {self.settings.redis_port}",
                f"dir {self.root}",
                *(
                    security.redis_acl_lines(self.settings)
                    if self.secure
                    else [f"requirepass {password}"]
                ),
                # Tests give every test its own database index.
                "databases 256",
                # The views are rebuildable from Kafka; a snapshot only speeds up a restart.
                "save 300 1",
                "appendonly no",
                "",
            ]
        )

    def pid(self) -> int | None:
        return read_pid(self.pid_path, f":{self.settings.redis_port}")

    def url(self, password: str) -> str:
        user = security.REDIS_ADMIN if self.secure else ""
        return f"redis://{user}:{password}@127.0.0.1:{self.settings.redis_port}/0"

    def _answers(self, password: str) -> bool:
        import redis

        client = redis.Redis.from_url(self.url(password), socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()

    def up(self) -> None:
        extra = security.secure_secret_names() if self.secure else ()
        password = ensure_secrets(self.settings, extra)["redis_password"]
        if self.pid() is None:
            require_free_port(self.settings.redis_port, "LOGISTREAM_REDIS_PORT")
            self.root.mkdir(parents=True, exist_ok=True)
            self.config_path.write_text(self._config(password))
            self.config_path.chmod(0o600)
            start_detached(
                [prereqs.redis_server(), str(self.config_path)], self.log_path, self.pid_path
            )
        wait_until(
            lambda: self._answers(password),
            START_TIMEOUT_S,
            f"Redis did not answer on port {self.settings.redis_port}; see {self.log_path}",
        )

    def down(self) -> None:
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, timeout_s=30.0)
        self.pid_path.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        address = f"redis://127.0.0.1:{self.settings.redis_port}/0"
        return ServiceStatus(
            self.name, "running" if pid else "stopped", address, pid, str(self.log_path)
        )
