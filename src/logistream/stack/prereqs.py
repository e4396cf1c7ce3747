"""Finding the programs the local stack runs; a missing one names the Debian package to install."""

from __future__ import annotations

import shutil
from pathlib import Path

from logistream.config import Settings
from logistream.errors import PrerequisiteError

# Where this checkout keeps the Kafka jars (`make kafka-jars`); src/logistream/stack -> repo root.
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_KAFKA_LIBS = REPO_ROOT / "build" / "kafka-libs"


def _program(name: str, package: str, what: str = "it", path: str | None = None) -> str:
    """The path of an installed program, or the error naming the Debian package to install."""
    found = shutil.which(name) or (shutil.which(name, path=path) if path else None)
    if not found:
        raise PrerequisiteError(
            f"{name} not found: install {what} with `apt-get install {package}` "
            "(or run `make setup`)"
        )
    return found


def java() -> str:
    return _program("java", "openjdk-17-jre-headless", "a Java 17 runtime")


def kafka_libs(settings: Settings) -> Path:
    libs = settings.kafka_libs or DEFAULT_KAFKA_LIBS
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise PrerequisiteError(
            f"Kafka jars not found in {libs}: run `make kafka-jars` (needs Maven: "
            "`apt-get install maven`), or set LOGISTREAM_KAFKA_LIBS"
        )
    return libs


def postgres_bin(program: str) -> str:
    """A PostgreSQL server program (initdb, pg_ctl, postgres), preferring version 15."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"), reverse=True)
    preferred = [c for c in candidates if c.parts[-3] == "15"] + candidates
    for candidate in preferred:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(program)
    if found:
        return found
    raise PrerequisiteError(
        f"{program} not found: install PostgreSQL 15 with `apt-get install postgresql-15` "
        "(or run `make setup`)"
    )


def redis_server() -> str:
    return _program("redis-server", "redis-server")


def mosquitto() -> str:
    # Debian installs the broker in /usr/sbin, which a user's PATH may lack.
    return _program("mosquitto", "mosquitto", path="/usr/sbin:/usr/local/sbin")


def mosquitto_passwd() -> str:
    return _program("mosquitto_passwd", "mosquitto")
