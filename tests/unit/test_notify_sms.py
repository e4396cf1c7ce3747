"""The SMS text: always one 160-character GSM-7 message, with what matters kept."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logistream.notify.sms_text import SMS_LIMIT, is_gsm7, sms_text, to_gsm7

LINK = "https://ls.example.co.ke/ack/AQCBn5w0ZqJNWq7c3pEp_4Ft0mZqAAAAAEFtaW5hIE90aWVub_abcdEFGH12"


def test_degrees_become_plain_c_and_the_text_is_gsm7() -> None:
    assert to_gsm7("12.5°C → Voi – ok") == "12.5C -> Voi - ok"
    assert is_gsm7(to_gsm7("Café [x] {y} ~ ^ | \\ € “q” naïve ✓ 温度"))


def test_a_typical_alert_keeps_plate_cargo_temperature_place_and_the_whole_link() -> None:
    text = sms_text("CRITICAL", "KCK 293K", cargo="Vaccines", temp_c=13.24, place="near Voi",
                    link=LINK)  # fmt: skip
    assert text == f"CRITICAL KCK 293K 13.2C Vaccines near Voi Ack: {LINK}"
    assert len(text) <= SMS_LIMIT
    assert is_gsm7(text)


def test_place_then_cargo_shrink_first_and_the_link_is_never_cut() -> None:
    place = "64 km from Mackinnon Road weighbridge, Coast"
    cargo = "Vaccines (WHO PQS 2-8 °C)"
    text = sms_text("UNACKED L2 CRITICAL", "KCK 293K", cargo=cargo, temp_c=-3.0, place=place,
                    link=LINK)  # fmt: skip
    assert len(text) == SMS_LIMIT
    assert text.endswith(f" Ack: {LINK}")
    assert text.startswith("UNACKED L2 CRITICAL KCK 293K -3.0C Vaccines")


def test_a_link_that_cannot_fit_is_left_out_rather_than_cut() -> None:
    text = sms_text("CRITICAL", "KCK 293K", temp_c=13.0, link="https://x/" + "a" * 200)
    assert text == "CRITICAL KCK 293K 13.0C"


@settings(max_examples=300, deadline=None)
@given(
    status=st.text(max_size=80),
    plate=st.text(max_size=40),
    cargo=st.none() | st.text(max_size=120),
    temp=st.none() | st.floats(min_value=-80, max_value=100),
    place=st.none() | st.text(max_size=120),
    link=st.none() | st.text(max_size=150),
)
def test_any_input_gives_one_gsm7_message(
    status: str, plate: str, cargo: str | None, temp: float | None, place: str | None,
    link: str | None,
) -> None:  # fmt: skip
    text = sms_text(status, plate, cargo=cargo, temp_c=temp, place=place, link=link)
    assert len(text) <= SMS_LIMIT
    assert is_gsm7(text)
