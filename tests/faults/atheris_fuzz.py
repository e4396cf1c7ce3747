"""atheris (libFuzzer) on the decoders and the rules engine: ``python atheris_fuzz.py -runs=N``.

Only :class:`InvalidReading` may come out of a target; anything else (or a hang longer than
libFuzzer's ``-timeout``) makes libFuzzer stop with a non-zero exit and the input that did it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["logistream"]):
    from tests.faults.fuzz_targets import FIELDS, decode_both, reading_json, run_engine


def _value(fdp: atheris.FuzzedDataProvider) -> object:
    kind = fdp.ConsumeIntInRange(0, 7)
    if kind == 0:
        return fdp.ConsumeRegularFloat()
    if kind == 1:
        return fdp.ConsumeFloatInRange(-100.0, 1.8e9)
    if kind == 2:
        return fdp.ConsumeInt(8)
    if kind == 3:
        return fdp.ConsumeUnicodeNoSurrogates(12)
    if kind == 4:
        return fdp.ConsumeBool()
    if kind == 5:
        return None
    if kind == 6:
        return fdp.ConsumeFloat()  # NaN and infinities too
    return [fdp.ConsumeIntInRange(0, 9)]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        decode_both(fdp.ConsumeBytes(fdp.remaining_bytes()))
        return
    messages = []
    for _ in range(fdp.ConsumeIntInRange(1, 8)):
        body: dict[str, object] = {
            "truck_id": fdp.PickValueInList(["KBX 123A", "KCK 293K", "", "x" * 70]),
            "temp": fdp.ConsumeFloatInRange(-90.0, 110.0),
            "timestamp": 1_767_225_600.0 + fdp.ConsumeFloatInRange(-1e9, 1e6),
        }
        for name in fdp.ConsumeIntListInRange(fdp.ConsumeIntInRange(0, 6), 0, len(FIELDS) - 1):
            body[FIELDS[name]] = _value(fdp)
        raw = reading_json(body)
        if mode == 2 and raw:
            raw = raw[: fdp.ConsumeIntInRange(0, len(raw))]  # truncated on the wire
        messages.append(raw)
    run_engine(messages)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
