"""pytest imports test modules by basename (rootdir-relative packages are not used here), so two
test files of the same name in different folders stop the whole run at collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert len(names) > 100  # the suite was found
    assert [name for name, n in names.items() if n > 1] == []
