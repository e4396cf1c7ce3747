"""The configuration files whose thresholds decide alarms and verdicts, as a service reads them:
the rules file (``LOGISTREAM_RULES_FILE`` or the shipped ``rules.toml``) and the cargo profiles
(``cargo.toml`` in ``LOGISTREAM_REGISTRY_DIR``, or the shipped one), each by where it was read,
with its bytes, for the audit trail (``logistream.audit.config_files``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _shipped(name: str) -> tuple[str, bytes]:
    data = resources.files("logistream.registry").joinpath("data", name).read_bytes()
    return f"shipped:{name}", data


def files_in_use(rules_file: Path | None, registry_dir: Path | None) -> dict[str, bytes]:
    """``{where: bytes}`` of the rules file and ``cargo.toml`` read with these settings (the same
    choice of file the loaders make: a registry folder without ``cargo.toml`` uses the shipped)."""
    found: dict[str, bytes] = {}
    if rules_file is not None:
        found[str(rules_file)] = rules_file.read_bytes()
    else:
        where, data = _shipped("rules.toml")
        found[where] = data
    cargo = registry_dir / "cargo.toml" if registry_dir is not None else None
    if cargo is not None and cargo.exists():
        found[str(cargo)] = cargo.read_bytes()
    else:
        where, data = _shipped("cargo.toml")
        found[where] = data
    return found
