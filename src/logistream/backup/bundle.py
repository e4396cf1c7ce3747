"""The backup file: a tar of a manifest, the database dump and the registry files (pure I/O on
files, no servers). Every member but the manifest is listed in it with its size and SHA-256, so a
damaged or truncated backup is refused before anything is restored."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from logistream.errors import BackupError
from logistream.registry.devices import DEVICE_FILE
from logistream.registry.loader import FILES as REGISTRY_FILES

FORMAT: Final = "logistream-backup-v1"
MANIFEST: Final = "manifest.json"
DUMP: Final = "database.dump"
REGISTRY_PREFIX: Final = "registry/"
BACKED_UP_FILES: Final = (*REGISTRY_FILES, DEVICE_FILE)
"""The registry files a backup carries (devices.toml only when one is in use)."""
_CHUNK: Final = 1 << 20


@dataclass(slots=True)
class Manifest:
    """What a backup holds. JSON in the file; no password, no connection secret."""

    created_at: str
    logistream_version: str
    source: dict[str, Any]
    """Database name, host, port and user of the backed-up database."""
    postgres: dict[str, Any]
    """Server version and the pg_dump that made the dump."""
    schema_version: list[dict[str, Any]]
    """Applied migrations: version, name, checksum."""
    row_counts: dict[str, int]
    """Rows per table (partitioned tables counted whole), in the dump's snapshot."""
    kafka_offsets: list[dict[str, Any]]
    """The bridge's resume points in the dump: group, topic, partition, next_offset."""
    registry: dict[str, str]
    """Registry file name -> where it came from (a path, or ``shipped``)."""
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Member name -> ``{"bytes": n, "sha256": hex}``."""
    format: str = FORMAT

    def to_json(self) -> bytes:
        data = {
            "format": self.format,
            "created_at": self.created_at,
            "logistream_version": self.logistream_version,
            "source": self.source,
            "postgres": self.postgres,
            "schema_version": self.schema_version,
            "row_counts": self.row_counts,
            "kafka_offsets": self.kafka_offsets,
            "registry": self.registry,
            "members": self.members,
        }
        return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BackupError(
                    f"{where}: backup format {data.get('format')!r} is not {FORMAT!r}; restore it "
                    "with the LogiStream version that made it"
                )
            return cls(
                created_at=str(data["created_at"]),
                logistream_version=str(data["logistream_version"]),
                source=dict(data["source"]),
                postgres=dict(data["postgres"]),
                schema_version=list(data["schema_version"]),
                row_counts={str(k): int(v) for k, v in data["row_counts"].items()},
                kafka_offsets=list(data["kafka_offsets"]),
                registry={str(k): str(v) for k, v in data["registry"].items()},
                members={str(k): dict(v) for k, v in data["members"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"{where}: manifest.json is not readable ({error!r})") from error


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def registry_in_use(registry_dir: Path | None) -> dict[str, tuple[bytes, str]]:
    """Each registry file as LogiStream reads it now: ``{name: (content, source)}``.

    The same rule as :mod:`logistream.registry.loader`: the user's folder when it has the file,
    else the shipped copy; but a user's folder without ``devices.toml`` has no devices (and
    the backup none of the shipped ones).
    """
    found: dict[str, tuple[bytes, str]] = {}
    for name in BACKED_UP_FILES:
        if name == DEVICE_FILE and registry_dir is not None and not (registry_dir / name).exists():
            continue
        if registry_dir is not None and (registry_dir / name).exists():
            path = registry_dir / name
            found[name] = (path.read_bytes(), str(path.resolve()))
        else:
            shipped = resources.files("logistream.registry").joinpath("data", name)
            found[name] = (shipped.read_bytes(), "shipped")
    return found


def write_backup(output: Path, manifest: Manifest, dump: Path, registry: dict[str, bytes]) -> None:
    """Write the tar (manifest first, so a reader finds it at once) atomically, mode 0600."""
    manifest.members[DUMP] = {"bytes": dump.stat().st_size, "sha256": sha256_file(dump)}
    for name, content in registry.items():
        manifest.members[REGISTRY_PREFIX + name] = {
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    partial = output.with_name(f".{output.name}.partial")
    # 0600: the dump holds the whole archive, password hashes and token hashes.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add_bytes(tar, MANIFEST, manifest.to_json())
            info = tar.gettarinfo(str(dump), arcname=DUMP)
            info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
            with dump.open("rb") as f:
                tar.addfile(info, f)
            for name, content in registry.items():
                _add_bytes(tar, REGISTRY_PREFIX + name, content)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o600
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(content))


@dataclass(frozen=True, slots=True)
class Unpacked:
    manifest: Manifest
    dump: Path
    registry: dict[str, bytes]


def read_backup(path: Path, workdir: Path) -> Unpacked:
    """Check and unpack a backup into ``workdir``: every member's size and SHA-256 must match.

    Only the members the manifest names are read, each to a fixed name: a crafted tar cannot
    write outside ``workdir``.
    """
    where = str(path)
    if not path.is_file():
        raise BackupError(f"{where}: no such file; name a file made by `logistream backup`")
    try:
        tar = tarfile.open(path, mode="r:")  # noqa: SIM115 (closed by the `with` below)
    except (tarfile.TarError, OSError) as error:
        raise BackupError(
            f"{where}: not a LogiStream backup (not a tar file: {error}); name a file made by "
            "`logistream backup`"
        ) from error
    with tar:
        try:
            return _unpack(tar, where, workdir)
        except tarfile.TarError as error:
            # tarfile meets the end of a cut-short file only while reading the members.
            raise BackupError(
                f"{where} is damaged: it ends early or a member header is unreadable ({error}); "
                "restore from another copy"
            ) from error


def _unpack(tar: tarfile.TarFile, where: str, workdir: Path) -> Unpacked:
    """The checks and the unpacking of :func:`read_backup`, on the opened tar."""
    try:
        stream = tar.extractfile(MANIFEST)
    except KeyError:
        stream = None
    if stream is None:
        raise BackupError(f"{where}: not a LogiStream backup (no {MANIFEST} in it)")
    manifest = Manifest.from_json(stream.read(), where)
    if DUMP not in manifest.members:
        raise BackupError(f"{where}: the manifest lists no {DUMP}; the backup is incomplete")
    dump = workdir / DUMP
    registry: dict[str, bytes] = {}
    for name, expected in manifest.members.items():
        try:
            source = tar.extractfile(name)
        except KeyError:
            source = None
        if source is None:
            raise BackupError(
                f"{where}: member {name} is missing; the backup is incomplete (cut short?); "
                "restore from another copy"
            )
        h = hashlib.sha256()
        size = 0
        if name == DUMP:
            with dump.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        elif name.startswith(REGISTRY_PREFIX) and name[len(REGISTRY_PREFIX) :] in BACKED_UP_FILES:
            content = source.read()
            h.update(content)
            size = len(content)
            registry[name[len(REGISTRY_PREFIX) :]] = content
        else:
            raise BackupError(f"{where}: unexpected member {name!r}; not a LogiStream backup")
        if size != expected.get("bytes") or h.hexdigest() != expected.get("sha256"):
            raise BackupError(
                f"{where} is damaged: member {name} has {size} bytes and SHA-256 "
                f"{h.hexdigest()[:16]}…, the manifest says {expected.get('bytes')} bytes and "
                f"{str(expected.get('sha256'))[:16]}…; restore from another copy"
            )
    return Unpacked(manifest, dump, registry)
