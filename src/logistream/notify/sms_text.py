"""One SMS = one 160-character GSM-7 message (pure).

Only characters of the GSM 03.38 basic set are emitted (the extension table costs two septets
and some Kenyan handsets render it badly), so the character count is the septet count. A text
that would need UCS-2 (one "°" does) is cut to 70 characters by operators, hence "C", not "°C".
"""

from __future__ import annotations

import unicodedata
from typing import Final

SMS_LIMIT: Final = 160

GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# Common characters outside the basic set, written with basic ones.
_REPLACE: Final[dict[str, str]] = {
    "°": "",  # "12.5°C" -> "12.5C"
    "→": "->",
    "←": "<-",
    "–": "-",
    "—": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "€": "EUR",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "~": "-",
    "^": "",
    "\\": "/",
    "|": "/",
    "\t": " ",
    "\u00a0": " ",
}


def to_gsm7(text: str) -> str:
    """``text`` in GSM-7 basic characters only: known symbols replaced, accents dropped where the
    set lacks them, anything else becomes "?"."""
    out: list[str] = []
    for char in text:
        if char in GSM7_BASIC:
            out.append(char)
        elif char in _REPLACE:
            out.append(_REPLACE[char])
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append("".join(c if c in GSM7_BASIC else "?" for c in base) or "?")
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC for c in text)


def _clip(text: str, room: int) -> str:
    if room <= 0:
        return ""
    return text if len(text) <= room else text[:room].rstrip()


def sms_text(
    status: str,
    plate: str,
    *,
    cargo: str | None = None,
    temp_c: float | None = None,
    place: str | None = None,
    link: str | None = None,
    limit: int = SMS_LIMIT,
) -> str:
    """``STATUS PLATE TEMP CARGO PLACE Ack: LINK`` in at most ``limit`` GSM-7 characters.

    When it does not fit, the place is shortened first, then the cargo; the link is kept whole
    (a cut link is useless) unless even the essentials leave no room for it.
    """
    head = " ".join(
        p
        for p in (
            to_gsm7(status).strip(),
            to_gsm7(plate).strip(),
            f"{temp_c:.1f}C" if temp_c is not None else "",
        )
        if p
    )
    head = _clip(" ".join(head.split()), limit)
    tail = f" Ack: {to_gsm7(link)}" if link else ""
    if len(head) + len(tail) > limit:
        tail = ""
    cargo_text = " ".join(to_gsm7(cargo or "").split())
    place_text = " ".join(to_gsm7(place or "").split())
    room = limit - len(head) - len(tail)
    cargo_part = _clip(cargo_text, room - 1) if cargo_text else ""
    room -= len(cargo_part) + 1 if cargo_part else 0
    place_part = _clip(place_text, room - 1) if place_text else ""
    middle = "".join(f" {p}" for p in (cargo_part, place_part) if p)
    return f"{head}{middle}{tail}"[:limit]
