"""Finding the programs the local stack runs; a missing one names the Debian package to install."""

from __future__ import annotations

import shutil
from pathlib import Path

from logistream.config import Settings
from logistream.errors import PrerequisiteError

# Where this checkout keeps the Kafka jars (`make kafka-jars`); src/logistream/stack -> repo root.
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_KAFKA_LIBS = REPO_ROOT / "build" / "kafka-libs"


def java() -> str:
    found = shutil.which("java")
    if not found:
        raise PrerequisiteError(
            "java not found: install a Java 17 runtime with "
            "`apt-get install openjdk-17-jre-headless` (or run `make setup`)"
        )
    return found


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
    found = shutil.which("redis-server")
    if not found:
        raise PrerequisiteError(
            "redis-server not found: install it with `apt-get install redis-server` "
            "(or run `make setup`)"
        )
    return found


def mosquitto() -> str:
    # Debian installs the broker in /usr/sbin, which a user's PATH may lack.
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise PrerequisiteError(
            "mosquitto not found: install it with `apt-get install mosquitto` (or run `make setup`)"
        )
    return found


def mosquitto_passwd() -> str:
    found = shutil.which("mosquitto_passwd")
    if not found:
        raise PrerequisiteError(
            "mosquitto_passwd not found: install it with `apt-get install mosquitto` "
            "(or run `make setup`)"
        )
    return found
