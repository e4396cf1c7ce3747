"""Adopting a truck into the fleet registry: its ``fleet.toml`` entry, checked, and written.

The registry is configuration the operator keeps in files (``LOGISTREAM_REGISTRY_DIR``), and
each service reads it at start. Adopting a truck that reports but is not in it therefore means
one more ``[[truck]]`` entry in that folder's ``fleet.toml``, checked against the routes and
cargo profiles before it is written, so a typo never makes the registry unreadable. Without a
registry folder (the shipped registry is part of the package) the entry is handed to the admin
to add by hand.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from logistream.errors import ConfigError
from logistream.registry.loader import load_registry
from logistream.registry.models import Registry


@dataclass(frozen=True, slots=True)
class Adoption:
    truck_id: str
    driver_id: str
    route: str
    cargo: str
    tank_litres: float = 400.0


def problems(adoption: Adoption, registry: Registry) -> list[str]:
    """What is wrong with this entry for this registry, in words; empty when it can be added."""
    found = []
    if not adoption.truck_id.strip() or len(adoption.truck_id) > 64:
        found.append("the truck id must be 1 to 64 characters")
    if adoption.truck_id in registry.truck_index:
        found.append(f"{adoption.truck_id} is already in the fleet registry")
    if not adoption.driver_id.strip():
        found.append("a driver id is needed (e.g. DRV-012)")
    if adoption.route not in registry.routes:
        found.append(f"unknown route {adoption.route!r}; one of: {', '.join(registry.routes)}")
    if adoption.cargo not in registry.cargo:
        found.append(f"unknown cargo {adoption.cargo!r}; one of: {', '.join(registry.cargo)}")
    if not 20.0 <= adoption.tank_litres <= 2000.0:
        found.append("the tank must hold 20 to 2000 litres")
    return found


def fleet_entry(adoption: Adoption) -> str:
    """The ``[[truck]]`` block for ``fleet.toml`` (strings quoted as TOML basic strings)."""

    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string

    return (
        "[[truck]]\n"
        f"id = {quoted(adoption.truck_id)}\n"
        f"driver = {quoted(adoption.driver_id)}\n"
        f"route = {quoted(adoption.route)}\n"
        f"cargo = {quoted(adoption.cargo)}\n"
        f"tank_litres = {adoption.tank_litres:g}\n"
    )


def _fleet_text(directory: Path) -> str:
    own = directory / "fleet.toml"
    if own.exists():
        return own.read_text(encoding="utf-8")
    # The folder has no fleet of its own yet: it starts from the shipped one, which it replaces.
    return resources.files("logistream.registry").joinpath("data", "fleet.toml").read_text("utf-8")


def add_to_fleet(directory: Path, adoption: Adoption) -> Path:
    """Append the truck's entry to ``directory/fleet.toml`` once the whole registry with it
    loads; raises :class:`ConfigError` saying why otherwise, leaving the file as it was."""
    if not directory.is_dir():
        raise ConfigError(f"LOGISTREAM_REGISTRY_DIR {directory} is not a folder")
    found = problems(adoption, load_registry(directory))
    if found:
        raise ConfigError(f"{adoption.truck_id}: " + "; ".join(found))
    text = _fleet_text(directory).rstrip("\n") + "\n\n" + fleet_entry(adoption)
    with tempfile.TemporaryDirectory() as trial:
        for path in directory.glob("*.toml"):
            shutil.copy(path, Path(trial) / path.name)
        (Path(trial) / "fleet.toml").write_text(text, encoding="utf-8")
        if adoption.truck_id not in load_registry(Path(trial)).truck_index:
            raise ConfigError(f"{adoption.truck_id}: the new fleet.toml would not list it")
    target = directory / "fleet.toml"
    partial = directory / ".fleet.toml.new"
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)  # atomic: a reader sees the old file or the new one, never half
    return target
