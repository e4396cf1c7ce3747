"""The demo's simulator creates its trips' shipments unless told not to (``--no-shipments``)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from logistream.cli import app
from logistream.config import Settings
from logistream.demo import _children


def _simulate(tmp_path: Path, **kwargs: bool) -> list[str]:
    children = _children(Settings(home=tmp_path), 8501, 8600, 60.0, None, "kafka", **kwargs)
    return next(c for c in children if c.name == "simulator").argv


def test_the_demo_simulates_with_shipments_by_default(tmp_path: Path) -> None:
    argv = _simulate(tmp_path)
    assert "--shipments" in argv
    assert "--no-shipments" not in argv


def test_no_shipments_is_passed_on(tmp_path: Path) -> None:
    argv = _simulate(tmp_path, shipments=False)
    assert "--no-shipments" in argv
    assert "--shipments" not in argv


def test_both_commands_offer_the_option() -> None:
    from logistream.cli import _register_commands

    _register_commands()
    runner = CliRunner()
    for command in ("demo", "simulate"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "--no-shipments" in result.output, command
