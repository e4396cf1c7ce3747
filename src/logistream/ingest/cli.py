"""``logistream simulate``: the Kenyan reefer fleet, to Kafka or (``--dry-run``) to stdout, or
(``--via mqtt|teltonika``) through a device gateway as the trucks' registry devices."""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final
from zoneinfo import ZoneInfo

import typer

from logistream.errors import ConfigError

if TYPE_CHECKING:
    from logistream.ingest.shipment_plans import TruckPlan

DEFAULT_TELTONIKA_GATEWAY: Final = "127.0.0.1:5027"


class Via(StrEnum):
    """How the simulated trucks reach Kafka."""

    kafka = "kafka"
    mqtt = "mqtt"
    teltonika = "teltonika"


FOREVER_LOOKBACK_S: Final = 86_400.0
"""Without --duration, the default start is a day back: a sped-up run reaches now only later."""


def parse_start(text: str | None, duration_s: float | None, timezone: str) -> float:
    """Epoch seconds of the simulated clock's start.

    Default: ``duration`` before now (a day when the run has no end), to the whole minute, so
    event time never runs ahead of the wall clock whatever the speed-up.
    """
    if text is None:
        back = duration_s if duration_s else FOREVER_LOOKBACK_S
        return float(math.floor((time.time() - back) / 60.0) * 60)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ConfigError(f"--start {text!r}: not an ISO 8601 time ({error})") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.timestamp()


def simulate(
    trucks: Annotated[
        int | None, typer.Option(help="Trucks to run (default: the fleet file's; more are made).")
    ] = None,
    rate: Annotated[float, typer.Option(help="Readings per truck per simulated second.")] = 1.0,
    speedup: Annotated[
        float | None,
        typer.Option(
            help="Simulated seconds per wall second; 0 = as fast as possible. "
            "Default 1 to Kafka, 0 with --dry-run."
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            help="Simulated seconds to run (wall time = duration / speedup). Default: the "
            "scenario's length when --scenario is given, else until stopped."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="The simulated clock's start, ISO 8601 (default: duration before now, so "
            "event time never runs ahead of the wall clock)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed and start: byte-identical readings.")] = 42,
    scenario: Annotated[
        str | None,
        typer.Option(help="Fault scenario (registry/data/scenarios); 'none' for a clean fleet."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write JSON lines to stdout instead of Kafka.")
    ] = False,
    spool_dir: Annotated[
        Path | None,
        typer.Option(help="Where readings wait while Kafka is unreachable (default: HOME/spool)."),
    ] = None,
    spool_max_mb: Annotated[int, typer.Option(help="Bound of the spool on disk.")] = 256,
    via: Annotated[
        Via,
        typer.Option(
            help="kafka: produce directly. mqtt / teltonika: each truck reports as its device of "
            "devices.toml through the MQTT broker / the Teltonika gateway (start `logistream "
            "gateway mqtt|teltonika`); trucks without such a device go straight to Kafka."
        ),
    ] = Via.kafka,
    gateway_address: Annotated[
        str, typer.Option(help="host:port of `logistream gateway teltonika` (--via teltonika).")
    ] = DEFAULT_TELTONIKA_GATEWAY,
    shipments: Annotated[
        bool | None,
        typer.Option(
            "--shipments/--no-shipments",
            help="Create the trips' shipments (the scenario's, else vaccines Nairobi-Kisumu, "
            "flowers Naivasha-JKIA, a milk round) in PostgreSQL and on the shipments topic "
            "before streaming; their trucks wait pre-cooled at the origin and stand at each "
            "drop. Default: on when the scenario carries shipments. With --dry-run only the "
            "trucks' part: nothing is stored.",
        ),
    ] = None,
) -> None:
    """Simulate the reefer fleet and send its readings to Kafka (key = truck_id)."""
    from logistream.config import get_settings
    from logistream.ingest.fleet import build_fleet
    from logistream.registry import cached_registry
    from logistream.registry.scenarios import DEFAULT, load_scenario

    if dry_run and via is not Via.kafka:
        raise typer.BadParameter("--dry-run writes to stdout: leave --via out", param_hint="--via")
    settings = get_settings()
    registry = cached_registry(settings.registry_dir)
    chosen = load_scenario(scenario or DEFAULT, registry, settings.registry_dir)
    duration_s = duration if duration is not None else None
    if duration_s is None and scenario is not None:
        duration_s = chosen.duration_min * 60.0
    if duration_s is not None and duration_s <= 0:
        duration_s = None
    if chosen.min_rate_hz and rate < chosen.min_rate_hz:
        typer.echo(
            f"warning: scenario {chosen.name} needs --rate {chosen.min_rate_hz} or more for "
            "all its expected alerts to show",
            err=True,
        )
    start_s = parse_start(start, duration_s, settings.timezone)
    with_shipments = bool(chosen.shipments) if shipments is None else shipments
    plans = _shipments(settings, registry, chosen, trucks, start_s, create=not dry_run) if (
        with_shipments
    ) else {}  # fmt: skip
    # The implicit demo mix fits any fleet size; a named scenario needs all its trucks.
    fleet = build_fleet(
        registry,
        chosen,
        trucks=trucks,
        seed=seed,
        start=start_s,
        rate_hz=rate,
        partial=scenario is None,
        plans=plans,
    )
    speed = speedup if speedup is not None else (0.0 if dry_run else 1.0)
    began = datetime.fromtimestamp(start_s, UTC).isoformat()
    typer.echo(
        f"simulating {len(fleet.trucks)} trucks, scenario {chosen.name}, seed {seed}, "
        f"start {began}, rate {rate}/s, speed-up {speed or 'max'}, "
        f"duration {f'{duration_s:g} s' if duration_s else 'until stopped'}",
        err=True,
    )
    if dry_run:
        _dry_run(fleet, duration_s, speed)
        return
    if via is not Via.kafka:
        from logistream.ingest.via_devices import run_via

        run_via(
            "mqtt" if via is Via.mqtt else "teltonika",
            gateway_address,
            settings,
            fleet,
            duration_s,
            speed,
            spool_dir,
            spool_max_mb,
        )
        return
    _to_kafka(settings, fleet, duration_s, speed, spool_dir, spool_max_mb)


def _shipments(
    settings: object,
    registry: object,
    scenario: object,
    trucks: int | None,
    start_s: float,
    *,
    create: bool,
) -> dict[str, TruckPlan]:
    """The run's shipments stored and published (``create``); the simulator's part of each."""
    from logistream.config import Settings
    from logistream.ingest.fleet import fleet_trucks
    from logistream.ingest.sim_shipments import create_shipments, run_shipments, truck_plans
    from logistream.registry.models import Registry
    from logistream.registry.scenarios import Scenario

    assert isinstance(settings, Settings)
    assert isinstance(registry, Registry)
    assert isinstance(scenario, Scenario)
    running = [t.truck_id for t in fleet_trucks(registry, trucks)]
    found = run_shipments(scenario, registry, running, start_s)
    if not create:
        return {s.truck.truck_id: s.truck for s in found}

    def log(line: str) -> None:
        typer.echo(line, err=True)

    kept = create_shipments(settings, registry, found, log)
    return dict(truck_plans(found, kept))


def _dry_run(fleet: object, duration_s: float | None, speedup: float) -> None:
    from logistream.events import encode
    from logistream.ingest.faults import RawMessage
    from logistream.ingest.simulator import FleetSim
    from logistream.ingest.truck_sensors import pace
    from logistream.shutdown import stop_on_signals

    assert isinstance(fleet, FleetSim)
    out = sys.stdout.buffer
    count = 0
    with stop_on_signals() as stop:
        for batch in pace(fleet, duration_s, speedup, stop, time.sleep):
            for item in batch:
                out.write(item.value if isinstance(item, RawMessage) else encode(item))
                out.write(b"\n")
                count += 1
            out.flush()
    typer.echo(f"wrote {count} messages", err=True)


def _to_kafka(
    settings: object,
    fleet: object,
    duration_s: float | None,
    speedup: float,
    spool_dir: Path | None,
    spool_max_mb: int,
) -> None:
    from logistream.config import Settings
    from logistream.events import encode
    from logistream.ingest.faults import RawMessage
    from logistream.ingest.simulator import FleetSim
    from logistream.ingest.spool import Spool
    from logistream.ingest.truck_sensors import make_sensors, pace
    from logistream.shutdown import stop_on_signals

    assert isinstance(settings, Settings)
    assert isinstance(fleet, FleetSim)
    folder = spool_dir or settings.home / "spool" / settings.topic_telemetry
    spool = Spool(folder, max_bytes=spool_max_mb * 1024 * 1024)
    if spool.unread:
        typer.echo(f"{spool.unread} messages from an earlier run wait in {folder}", err=True)

    def log(line: str) -> None:
        typer.echo(line, err=True)

    sensors = make_sensors(settings, spool, log=log)
    send = sensors.send
    begun = time.monotonic()
    with stop_on_signals() as stop:
        for batch in pace(fleet, duration_s, speedup, stop, sensors.idle):
            for item in batch:
                if isinstance(item, RawMessage):
                    send(item.key, item.value)
                else:
                    send(fleet_key(item.truck_id), encode(item))
            sensors.service()
        if stop.is_set():
            typer.echo("stopping: flushing what is in hand", err=True)
        stats = sensors.close(stop=stop)
    elapsed = time.monotonic() - begun
    typer.echo(f"{stats.summary()} in {elapsed:.1f} s")
    if stats.left_in_spool:
        typer.echo(
            f"{stats.left_in_spool} messages wait in {folder}; the next run sends them", err=True
        )


_KEYS: dict[str, bytes] = {}


def fleet_key(truck_id: str) -> bytes:
    """The message key of a truck (cached: no new bytes per reading)."""
    key = _KEYS.get(truck_id)
    if key is None:
        key = _KEYS[truck_id] = truck_id.encode()
    return key


def register(app: typer.Typer) -> None:
    """Add this layer's commands to ``app``."""
    from logistream.ingest import gateway_cli

    app.command("simulate")(simulate)
    gateway_cli.register(app)
