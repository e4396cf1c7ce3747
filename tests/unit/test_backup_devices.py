"""Backups carry the device registry (devices.toml: trackers, probes, calibration records) as
LogiStream reads it: shipped, the user's own, or none when the user's folder has none."""

from __future__ import annotations

from pathlib import Path

from logistream.backup.bundle import Manifest, read_backup, registry_in_use, write_backup


def test_the_devices_in_use_are_carried_and_come_back(tmp_path: Path) -> None:
    shipped = registry_in_use(None)
    assert shipped["devices.toml"][1] == "shipped"
    assert b"CAL-2026-0141" in shipped["devices.toml"][0]  # a calibration certificate

    own = tmp_path / "registry"
    own.mkdir()
    assert "devices.toml" not in registry_in_use(own)  # no devices.toml here: no devices
    (own / "devices.toml").write_text("# no trackers yet\n")
    assert registry_in_use(own)["devices.toml"][0] == b"# no trackers yet\n"

    dump = tmp_path / "dump"
    dump.write_bytes(b"-- a dump")
    manifest = Manifest(
        created_at="2026-12-07T00:00:00+00:00",
        logistream_version="test",
        source={},
        postgres={},
        schema_version=[],
        row_counts={},
        kafka_offsets=[],
        registry={},
    )
    contents = {name: content for name, (content, _source) in shipped.items()}
    write_backup(tmp_path / "b.tar", manifest, dump, contents)
    (tmp_path / "out").mkdir()
    unpacked = read_backup(tmp_path / "b.tar", tmp_path / "out")
    assert unpacked.registry["devices.toml"] == shipped["devices.toml"][0]
