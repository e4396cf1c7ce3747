"""The reports say how the trip's time out of range inside its operating modes is counted
(pure): a sentence under the modes in the PDF, with the minutes, kept in the figures; none for
a version stored before the figure existed (or a shipment report, which has no trip figures)."""

from __future__ import annotations

from tests.unit.test_modes_report import jsonable, section
from tests.unit.test_report_sensor_faults import content

from logistream.batch.reports.modes_render import mode_time_text
from logistream.batch.reports.render import trip_pdf


def test_the_modes_section_states_the_time_out_of_range_inside_them() -> None:
    c = content(operating_modes=jsonable(section()))
    c["compliance"] = {**c.get("compliance", {}), "mode_tor_s": 2850.0}
    assert mode_time_text(c) == (
        "Out of range inside these modes: 47.5 min. It is counted in the trip's time out of "
        "range, excursions and verdict all the same: the figures say what the cargo went "
        "through, the modes only held the alarms."
    )
    assert trip_pdf(c).startswith(b"%PDF")


def test_a_version_without_the_figure_says_nothing_of_it() -> None:
    assert mode_time_text(content(operating_modes=[])) == ""
    assert mode_time_text({"operating_modes": []}) == ""
