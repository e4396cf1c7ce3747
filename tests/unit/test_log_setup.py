"""LOGISTREAM_LOG_LEVEL: a level name in any case; anything else stops with the variable's name."""

from __future__ import annotations

import pytest

from logistream.errors import ConfigError
from logistream.log_setup import log_level


def test_the_level_defaults_to_info_and_ignores_case() -> None:
    assert log_level(None) == "INFO"
    assert log_level(" debug ") == "DEBUG"


def test_a_wrong_level_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"LOGISTREAM_LOG_LEVEL: one of DEBUG, .* \(got 'loud'\)"):
        log_level("loud")
