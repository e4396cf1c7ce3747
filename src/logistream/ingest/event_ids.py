"""Event ids of simulated readings: random UUIDs from a truck's own generator, salted per run.

A truck's generator depends on the seed and its plate only, so its random bits alone would give
two runs of one seed the same ids; the run salt mixes in the start, so a run tomorrow never
reuses today's ids (the archive is unique by event id).
"""

from __future__ import annotations

import hashlib


def run_salt(seed: int, start: float, truck_id: str) -> int:
    """128 bits that differ between runs of one seed from different starts.

    The truck's generator depends on the seed and plate only (its physics must not move with
    the start), so its random bits alone would give a run tomorrow the ids of today's readings.
    """
    digest = hashlib.blake2b(f"{seed}|{start!r}|{truck_id}".encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big")


def uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
