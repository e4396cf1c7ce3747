"""Logging of the long-running commands: one format, its level from ``LOGISTREAM_LOG_LEVEL``."""

from __future__ import annotations

import logging
import os
import sys
from typing import Final

from logistream.errors import ConfigError

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_level(raw: str | None) -> str:
    """The level named by ``LOGISTREAM_LOG_LEVEL`` (default INFO); a wrong name stops the
    program at start with a line naming the variable."""
    level = (raw or "INFO").strip().upper()
    if level not in LEVELS:
        raise ConfigError(f"LOGISTREAM_LOG_LEVEL: one of {', '.join(LEVELS)} (got {raw!r})")
    return level


def setup_logging() -> None:
    """Progress and retries to stderr, unless logging was set up already (e.g. by a test)."""
    if logging.getLogger().handlers:
        return
    level = log_level(os.environ.get("LOGISTREAM_LOG_LEVEL"))
    logging.basicConfig(level=level, format=FORMAT, stream=sys.stderr)
