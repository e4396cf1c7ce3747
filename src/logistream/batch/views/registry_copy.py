"""The registry's copy in PostgreSQL (cargo profiles, trucks, routes) that the batch SQL joins.

The registry lives in TOML files; the set-based pass needs its limits as tables. Each run
replaces the copy whole: the same registry gives the same rows, so a rerun changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg


def sync_registry(conn: psycopg.Connection[Any], registry: Registry) -> None:
    """Replace the registry copies (same registry: same rows, so a rerun changes nothing)."""
    conn.execute("DELETE FROM batch_cargo_profiles")
    conn.execute("DELETE FROM batch_trucks")
    conn.execute("DELETE FROM batch_routes")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO batch_cargo_profiles (name, label, low_c, high_c, hard_low_c, "
            "hard_high_c, alarm_delay_high_s, alarm_delay_low_s, hysteresis_c, tor_budget_s, "
            "defrost_allowance_c, defrost_max_s, mkt_enabled, activation_energy_kj_mol, "
            "sensor_min_c, sensor_max_c, max_rate_c_per_min, max_rate_door_c_per_min, "
            "rate_slack_c) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    p.name,
                    p.label,
                    p.low_c,
                    p.high_c,
                    p.hard_low_c,
                    p.hard_high_c,
                    p.alarm_delay_high_s,
                    p.alarm_delay_low_s,
                    p.hysteresis_c,
                    p.tor_budget_s,
                    p.defrost_allowance_c,
                    p.defrost_max_s,
                    p.mkt_enabled,
                    p.activation_energy_kj_mol,
                    p.sensor_min_c,
                    p.sensor_max_c,
                    p.max_rate_c_per_min,
                    p.max_rate_door_c_per_min,
                    p.rate_slack_c,
                )
                for p in registry.cargo.values()
            ],
        )
        cur.executemany(
            "INSERT INTO batch_trucks VALUES (%s, %s, %s, %s, %s)",
            [(t.truck_id, t.driver_id, t.route, t.cargo, t.tank_litres) for t in registry.trucks],
        )
        cur.executemany(
            "INSERT INTO batch_routes VALUES (%s, %s, %s, %s)",
            [
                (r.name, r.label, r.waypoints[0].name, r.waypoints[-1].name)
                for r in registry.routes.values()
            ],
        )
