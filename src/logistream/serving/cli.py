"""``logistream dashboard``: the Streamlit control room."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_argv(port: int, address: str) -> list[str]:
    """The command line that serves the dashboard (headless: no browser is opened)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "dark",
    ]


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard(
        port: int = typer.Option(8501, help="Port to serve the dashboard on."),
        address: str = typer.Option("127.0.0.1", help="Address to listen on."),
    ) -> None:
        """Serve the control room: live fleet and open alerts from Redis."""
        from logistream.config import get_settings

        get_settings()  # a wrong setting stops here, in one line, not inside Streamlit
        typer.echo(f"LogiStream control room: http://localhost:{port}", err=True)
        # Replace this process, so SIGINT/SIGTERM reach Streamlit directly and it exits cleanly.
        os.execv(sys.executable, streamlit_argv(port, address))  # noqa: S606 - fixed argv
