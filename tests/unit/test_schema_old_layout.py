"""A database migrated when the migrations lived in ``logistream/batch/migrations`` is accepted.

The runner records each applied file's version, name and SHA-256 in ``schema_version`` and
refuses a database whose applied file changed. The move to ``logistream/schema/migrations`` kept
names and contents, so the rows the old layout wrote match the shipped files and nothing is
re-applied. ``RELEASED`` pins what the old layout recorded (release 84541a0).
"""

from __future__ import annotations

import pytest

from logistream.errors import MigrationError
from logistream.schema.migrate import pending, shipped_migrations

RELEASED = {
    1: ("roles", "8f1690fec7037d4025017796b49c3527de1f23a975f4e88c05db0256172c534b"),
    2: ("archive", "825c062d0ef8f511edd975d888ba80237fe0f872a104e8cf15811d7e5a154849"),
    3: ("bridge_state", "8a189a9820789f1a6163a9b924eb9b5fe97b185ca3dc1bc650f4674b629ea82f"),
    10: ("batch_views", "862bae80109784e97a8a873ec5ec51d5d45452452f26e78675837af38d602ead"),
    11: ("report_versions", "536c0b7132f4fc9e14a91065c17259aa5d20122f7bf51f6ba7cf0c605e173583"),
    20: ("users", "0dc5ca0d26fe3f0fe0cd044d52716e5332545f00daebac3ed655931860e82999"),
    30: ("api_tokens", "b7b438278b4b37207bb6691e1f11884dcf9eed6ea8042765b40a905c19344598"),
    40: ("notifications", "c4b50a887f34843e87af4e399b324407bfe2b9d831468f197aa72a587ee5bc9f"),
}
"""version: (name, checksum) of every migration the old layout shipped and applied."""


def test_the_released_migrations_keep_their_names_and_contents() -> None:
    shipped = {m.version: (m.name, m.checksum) for m in shipped_migrations()}
    for version, recorded in RELEASED.items():
        assert shipped.get(version) == recorded, f"migration {version:04d} changed after release"


def test_a_database_migrated_by_the_old_layout_needs_only_the_newer_migrations() -> None:
    applied = {version: checksum for version, (_name, checksum) in RELEASED.items()}
    todo = pending(shipped_migrations(), applied)
    assert all(m.version not in RELEASED for m in todo)
    assert {m.version for m in todo} == {m.version for m in shipped_migrations()} - set(RELEASED)


def test_an_edited_released_migration_is_still_refused() -> None:
    applied = {version: checksum for version, (_name, checksum) in RELEASED.items()}
    applied[2] = "0" * 64
    with pytest.raises(MigrationError, match="0002"):
        pending(shipped_migrations(), applied)
