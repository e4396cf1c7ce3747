"""Write the OpenAPI document: ``python -m logistream.api.openapi docs/openapi.json``
(``make openapi``). A test checks the committed file equals what this writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def render() -> str:
    from logistream.api.app import openapi_document

    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m logistream.api.openapi OUTPUT.json", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render(), encoding="utf-8")
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
