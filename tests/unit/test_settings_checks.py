"""A wrong LOGISTREAM_TIMEZONE or a LOGISTREAM_REGISTRY_DIR that is no folder is refused when the
settings are read, in one line naming the variable (as every other wrong setting is)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logistream.config import Settings, get_settings
from logistream.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LOGISTREAM_TIMEZONE", "LOGISTREAM_REGISTRY_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _refusal(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(ConfigError) as refused:
        get_settings()
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_an_unknown_time_zone_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _refusal(monkeypatch, "LOGISTREAM_TIMEZONE", "Africa/Nairobbi")
    assert message == (
        "LOGISTREAM_TIMEZONE: 'Africa/Nairobbi' is not a time zone name; use an IANA name "
        "such as Africa/Nairobi or UTC (got 'Africa/Nairobbi')"
    )


@pytest.mark.parametrize("value", ["", "EAT", "../../etc/passwd"])
def test_other_non_zones_are_refused_too(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert _refusal(monkeypatch, "LOGISTREAM_TIMEZONE", value).startswith("LOGISTREAM_TIMEZONE: ")


def test_a_real_time_zone_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTREAM_TIMEZONE", "Europe/London")
    assert get_settings().timezone == "Europe/London"
    assert Settings().timezone == "Europe/London"


def test_a_registry_folder_that_does_not_exist_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "my-registry"
    message = _refusal(monkeypatch, "LOGISTREAM_REGISTRY_DIR", str(missing))
    assert message.startswith(f"LOGISTREAM_REGISTRY_DIR: no folder {missing}")
    assert "unset it to use the shipped registry" in message


def test_a_file_in_place_of_the_registry_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "cargo.toml").write_text("")
    message = _refusal(monkeypatch, "LOGISTREAM_REGISTRY_DIR", str(tmp_path / "cargo.toml"))
    assert message.startswith("LOGISTREAM_REGISTRY_DIR: ")
    assert "is a file, not a folder" in message


def test_an_existing_registry_folder_is_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOGISTREAM_REGISTRY_DIR", str(tmp_path))
    assert get_settings().registry_dir == tmp_path
