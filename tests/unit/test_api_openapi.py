"""The committed OpenAPI document (docs/openapi.json) is what the code generates: run
`make openapi` after changing the API, and commit the result."""

from __future__ import annotations

from pathlib import Path

from logistream.api.openapi import render

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )
