"""Alert messages say what is true: a value is never rounded onto its own threshold."""

from __future__ import annotations

import pytest
from tests.unit.rules_support import Run, every, vax

from logistream.speed.rules.base import beyond


@pytest.mark.parametrize(
    ("value", "limit", "above", "digits", "text"),
    [
        (12.01, 12.0, True, 1, "12.01"),
        (12.3, 12.0, True, 1, "12.3"),
        (7.96, 8.0, False, 1, "7.96"),
        (1.999, 2.0, False, 1, "1.999"),
        (80.4, 80.0, True, 0, "80.4"),
        (14.6, 15.0, False, 0, "14.6"),
        (95.0, 80.0, True, 0, "95"),
    ],
)
def test_a_value_is_shown_beyond_its_limit_as_it_is(
    value: float, limit: float, above: bool, digits: int, text: str
) -> None:
    assert beyond(value, limit, above=above, digits=digits) == text


def test_a_critical_just_past_the_hard_limit_says_so_truly() -> None:
    run = Run()
    run.feed([vax(t, 11.9) for t in every(30, 0, 300)])
    run.feed([vax(300, 12.01), vax(330, 12.01)])
    crit = [c for c in run.changes if c.rule == "temp_critical"]
    assert "at 12.01 °C, above the hard limit of 12 °C" in crit[0].message
