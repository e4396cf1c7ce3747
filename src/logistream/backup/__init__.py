"""Backup and restore of a LogiStream installation: ``logistream backup`` / ``logistream restore``.

A backup is one tar file: ``manifest.json`` (format, versions, schema versions, row counts, the
bridge's stored offsets and the SHA-256 of every other member; never a password), then
``database.dump`` (``pg_dump --format=custom`` of the whole LogiStream database, taken in the
same snapshot as the row counts), then ``registry/*.toml`` (the registry files in use).
"""

from logistream.backup.bundle import Manifest
from logistream.errors import BackupError

__all__ = ["BackupError", "Manifest"]
