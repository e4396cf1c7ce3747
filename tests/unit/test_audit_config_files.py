"""Which rules / cargo profiles files to record at a service's start (pure): a file never
recorded, a changed digest, an unchanged one (even moved), and the subject kinds."""

from __future__ import annotations

import hashlib

from logistream.audit.config_files import changes, file_name, subject_kind

RULES = b"[temp]\nhigh = 8.0\n"
CARGO = b"[vaccines]\nmin = 2.0\n"


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_file_names_and_kinds() -> None:
    assert file_name("/etc/logistream/rules.toml") == "rules.toml"
    assert file_name("shipped:cargo.toml") == "cargo.toml"
    assert file_name(r"C:\fleet\rules.toml") == "rules.toml"
    assert subject_kind("cargo.toml") == "cargo_profiles"
    assert subject_kind("rules.toml") == "rules_file"


def test_never_recorded_files_are_recorded() -> None:
    found = changes({"/r/rules.toml": RULES, "/r/cargo.toml": CARGO}, {})
    assert [(c.subject_kind, c.name, c.before) for c in found] == [
        ("cargo_profiles", "cargo.toml", None),
        ("rules_file", "rules.toml", None),
    ]
    assert found[1].after == {"sha256": _sha(RULES), "path": "/r/rules.toml"}


def test_only_a_changed_digest_is_recorded() -> None:
    recorded = {
        ("rules_file", "rules.toml"): {"sha256": _sha(RULES), "path": "/old/rules.toml"},
        ("cargo_profiles", "cargo.toml"): {"sha256": _sha(b"old"), "path": "/r/cargo.toml"},
    }
    found = changes({"/r/rules.toml": RULES, "/r/cargo.toml": CARGO}, recorded)
    assert len(found) == 1
    assert found[0].name == "cargo.toml"
    assert found[0].before == {"sha256": _sha(b"old"), "path": "/r/cargo.toml"}
    assert found[0].after == {"sha256": _sha(CARGO), "path": "/r/cargo.toml"}
