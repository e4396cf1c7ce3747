"""The reports' "Operating modes" section, pure: the digest folds the modes in (the readings'
digest alone without modes), the CSV rows in UTC, the PDF renders, and a version stored before
the section renders without it."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime
from typing import Any

from tests.unit.test_report_sensor_faults import content

from logistream.batch.reports.modes import MODES_DIGEST_FORMAT, modes_lines, with_modes
from logistream.batch.reports.modes_render import modes_csv_rows
from logistream.batch.reports.render import trip_csv, trip_pdf

START = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
END = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
HELD_AT = datetime(2025, 3, 3, 6, 12, tzinfo=UTC)


def section() -> list[dict[str, Any]]:
    return [
        {
            "mode_id": "m-1",
            "kind": "washout",
            "reason": "after fish",
            "starts_at": START,
            "ends_at": END,
            "ended_early": False,
            "set_by": "cli:ann",
            "approved_by": None,
            "held": [
                {
                    "alert_id": "a:held:m-1",
                    "rule": "temp_high",
                    "probe_id": "rear",
                    "at": HELD_AT,
                    "message": "held: temp_high would have opened at 15.2 °C",
                }
            ],
        }
    ]


def test_without_modes_the_digest_is_the_readings_digest() -> None:
    assert with_modes("ab" * 32, []) == ("ab" * 32, "logistream-readings-v1")


def test_with_modes_the_digest_covers_each_mode_and_held_alarm() -> None:
    digest, fmt = with_modes("ab" * 32, section())
    assert fmt == MODES_DIGEST_FORMAT == "logistream-readings-v1+modes-v1"
    text = (
        "ab" * 32 + "\n"
        "mode\tm-1\twashout\tafter fish\t1740981600000000\t1740985200000000\tcli:ann\t\n"
        "held\ta:held:m-1\ttemp_high\trear\t1740982320000000\t"
        "held: temp_high would have opened at 15.2 °C\n"
    )
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert len(modes_lines(section())) == 2
    # Any change to what the section says changes the digest.
    ended = section()
    ended[0]["ends_at"] = HELD_AT
    assert with_modes("ab" * 32, ended)[0] != digest


def jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from logistream.batch.reports.trip import jsonable as to_json

    out: list[dict[str, Any]] = to_json(rows)
    return out


def test_the_trip_csv_lists_modes_and_held_alarms_in_utc() -> None:
    c = content(operating_modes=jsonable(section()))
    table = list(csv.reader(io.StringIO(trip_csv(c).decode())))
    header = next(r for r in table if r[:1] == ["operating modes"])
    (mode,) = [r for r in table if r[:1] == ["operating mode"]]
    assert dict(zip(header[1:], mode[1:], strict=True)) == {
        "mode_id": "m-1",
        "kind": "washout",
        "reason": "after fish",
        "starts_at": "2025-03-03T06:00:00+00:00",
        "ends_at": "2025-03-03T07:00:00+00:00",
        "ended_early": "False",
        "set_by": "cli:ann",
        "approved_by": "",
    }
    held_header = next(r for r in table if r[:1] == ["held alarms"])
    (held,) = [r for r in table if r[:1] == ["held alarm"]]
    assert dict(zip(held_header[1:], held[1:], strict=True)) == {
        "mode_id": "m-1",
        "alert_id": "a:held:m-1",
        "rule": "temp_high",
        "probe_id": "rear",
        "at": "2025-03-03T06:12:00+00:00",
        "message": "held: temp_high would have opened at 15.2 °C",
    }
    # The sections before it keep their places: the modes come after the methods.
    assert table.index(header) > max(i for i, r in enumerate(table) if r[:1] == ["versions"])


def test_the_pdf_renders_with_modes_and_a_version_stored_before_them_has_no_section() -> None:
    assert trip_pdf(content(operating_modes=jsonable(section()))).startswith(b"%PDF")
    assert trip_pdf(content(operating_modes=[])).startswith(b"%PDF")
    old = content()
    assert modes_csv_rows(old) == []
    assert not [r for r in csv.reader(io.StringIO(trip_csv(old).decode())) if "modes" in r[:1]]
