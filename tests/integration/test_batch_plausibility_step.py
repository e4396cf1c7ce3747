"""The batch pass's plausibility step in PL/pgSQL (0014) answers as 0012's SQL one did.

The SQL function as 0012 created it is recreated (its text read from the migration) as a
temporary function and both are asked the same seeded random questions, NULLs and edge cases
included: every answer must be equal. The installed step must be the PL/pgSQL one (the point of
0014: it is cheaper per reading).
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema

from logistream.config import Settings

MIGRATIONS = Path(__file__).parents[2] / "src" / "logistream" / "schema" / "migrations"


def _sql_step_of_0012() -> str:
    text = (MIGRATIONS / "0012_sensor_plausibility.sql").read_text()
    found = re.search(r"CREATE FUNCTION batch_plausible_step\(.*?\n\$\$;", text, re.S)
    assert found, "0012 defines batch_plausible_step"
    return found.group(0).replace(
        "CREATE FUNCTION batch_plausible_step(", "CREATE FUNCTION pg_temp.sql_plausible_step("
    )


def test_plpgsql_step_answers_as_the_sql_step(settings: Settings) -> None:
    assert settings.database_url
    apply_schema(settings)
    rng = seeded_random("plausible-step")

    def maybe(value: float) -> float | None:
        return None if rng.random() < 0.08 else value

    cases = []
    for _ in range(5_000):
        last_ts = maybe(rng.uniform(0, 1e5))
        state = None if rng.random() < 0.15 else [last_ts, maybe(rng.uniform(-30, 30)), 1.0]
        ts = maybe(rng.uniform(0, 1e5) if last_ts is None else last_ts + rng.uniform(-60, 900))
        temp = maybe(rng.choice([rng.uniform(-60, 80), rng.uniform(-5, 12), 70.0, -50.0]))
        door = None if rng.random() < 0.1 else rng.random() < 0.3
        limits = [maybe(-50.0), maybe(70.0), maybe(4.0), maybe(10.0), maybe(4.0)]
        cases.append((state, ts, temp, door, *limits))

    with psycopg.connect(settings.database_url) as conn:
        (lang,) = conn.execute(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.proname = 'batch_plausible_step'"
        ).fetchone() or ("",)
        assert lang == "plpgsql"
        conn.execute(_sql_step_of_0012())
        differ = []
        for case in cases:
            args = ", ".join(
                ["%s::float8[]", "%s::float8", "%s::float8", "%s::boolean"] + ["%s::float8"] * 5
            )
            new, old = conn.execute(
                f"SELECT batch_plausible_step({args}), pg_temp.sql_plausible_step({args})",
                [*case, *case],
            ).fetchone() or (None, None)
            if new != old:
                differ.append((case, new, old))
        assert differ == []
        # Both kinds of answer were asked for.
        verdicts = {
            row[0]
            for row in conn.execute(
                "SELECT (batch_plausible_step(s, t, x, d, -50, 70, 4, 10, 4))[3] "
                "FROM (VALUES (ARRAY[0, 5, 1]::float8[], 60::float8, 6::float8, false), "
                "(ARRAY[0, 5, 1]::float8[], 60::float8, 60::float8, false)) v(s, t, x, d)"
            )
        }
        assert verdicts == {0.0, 1.0}
