"""Layers meet only at Kafka topics and the two stores: no layer imports another layer's modules.

Walks every import (module level and inside functions) of `src/logistream` with `ast`. The one
allowed crossing is the batch layer's documented public read interface, the trip report
(`logistream.batch.reports.current` and `.render`), used by serving and the API. Layer-free
packages (`events`, `config`, `registry`, `schema`, `reads`, `kafka`, `devices`...) may be used by
anyone; the composition root (`cli.py`, `commands.py`, `demo.py`) wires the layers together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import logistream

LAYERS = ("ingest", "speed", "batch", "serving", "notify", "api")
PUBLIC_READ_INTERFACE = {
    "batch": ("logistream.batch.reports.current", "logistream.batch.reports.render"),
}
"""What a layer offers to others, by layer: module names other layers may import."""

PACKAGE_ROOT = Path(logistream.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    module = _module_name(path)
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """Absolute names of what `path` (in `package`) imports, with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            if module.count(".") < 2:  # `from logistream.batch import reports` names a module
                found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "logistream" and parts[1] in LAYERS:
        return parts[1]
    return None


def _is_public(module: str, layer: str) -> bool:
    return any(
        module == allowed or module.startswith(allowed + ".")
        for allowed in PUBLIC_READ_INTERFACE.get(layer, ())
    )


def layer_breaches() -> list[str]:
    breaches: list[str] = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        own = _layer_of(_module_name(path))
        if own is None:
            continue
        for line, module in _imported_modules(path, _package_of(path)):
            other = _layer_of(module)
            if other is None or other == own or _is_public(module, other):
                continue
            # `from logistream.batch import reports` names the package `logistream.batch` too
            if module == f"logistream.{other}":
                continue
            breaches.append(f"{path.relative_to(PACKAGE_ROOT)}:{line} ({own}) imports {module}")
    return sorted(set(breaches))


def test_no_layer_imports_another_layer() -> None:
    breaches = layer_breaches()
    print(f"{len(breaches)} layer breaches in {PACKAGE_ROOT}")
    assert breaches == [], "layers must meet only at topics and stores:\n" + "\n".join(breaches)


def test_the_walk_sees_a_breach(tmp_path: Path) -> None:
    """The walk itself works: imports of another layer, inside a function or relative, are found."""
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n"
        "    from logistream.speed.engine import RulesEngine\n"
        "    import logistream.batch.archive\n"
        "    from ..notify import service\n",
        encoding="utf-8",
    )
    names = [module for _line, module in _imported_modules(source, "logistream.api")]
    assert "logistream.speed.engine" in names
    assert "logistream.batch.archive" in names
    assert "logistream.notify.service" in names
    assert _layer_of("logistream.speed.engine") == "speed"
    assert not _is_public("logistream.batch.archive", "batch")
    assert _is_public("logistream.batch.reports.render", "batch")
