"""Commands ``batch`` (recompute the batch views) and ``report`` (trip, shipment and fleet
reports).

Registered on the ``logistream`` app with :func:`register`. Both connect with the owner URL
(``LOGISTREAM_DATABASE_URL`` or the local stack's) and expect the schema to be migrated
(``logistream migrate``, which ``logistream bridge`` also runs at start).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from logistream.errors import ConfigError, SchemaMissing

if TYPE_CHECKING:
    import psycopg

FORMATS = ("pdf", "csv", "json")


RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def _parse_day(
    text: str | None, option: str, now: datetime | None = None, *, whole_day: bool = False
) -> datetime | None:
    """A date, ``today`` or ``yesterday``: that day's midnight in LOGISTREAM_TIMEZONE (the next
    midnight with ``whole_day``, so a last day is included); or an ISO 8601 date-time (UTC if it
    names no zone), taken as it is."""
    if text is None:
        return None
    from zoneinfo import ZoneInfo

    from logistream.config import get_settings

    zone = ZoneInfo(get_settings().timezone)
    if text.lower() in RELATIVE_DAYS:
        local = (now or datetime.now(UTC)).astimezone(zone)
        day = local.date() - timedelta(days=RELATIVE_DAYS[text.lower()])
    else:
        try:
            if len(text) != 10:
                moment = datetime.fromisoformat(text)
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            day = date.fromisoformat(text)
        except ValueError as error:
            raise ConfigError(
                f"{option}: {text!r} is not a date (YYYY-MM-DD, today, yesterday) or ISO date-time"
            ) from error
    if whole_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(), zone)


def _connect() -> psycopg.Connection[Any]:
    import psycopg

    from logistream.config import get_settings, resolve_endpoints

    url = resolve_endpoints(get_settings()).database_url
    try:
        conn = psycopg.connect(url, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LOGISTREAM_DATABASE_URL: cannot connect to PostgreSQL ({error}); check it, or run "
            "`logistream stack up`"
        ) from error
    row = conn.execute(
        "SELECT to_regclass('trip_compliance') IS NOT NULL "
        "AND to_regclass('report_versions') IS NOT NULL"
    ).fetchone()
    conn.rollback()
    if not row or not row[0]:
        conn.close()
        raise SchemaMissing(
            "trip_compliance", "the batch-view tables are missing: run `logistream migrate` first"
        )
    return conn


def _registry() -> Any:
    from logistream.config import get_settings
    from logistream.registry import cached_registry

    return cached_registry(get_settings().registry_dir)


def _write(data: bytes, output: Path | None, fmt: str) -> None:
    if output is None:
        if fmt == "pdf" and sys.stdout.isatty():
            raise ConfigError("-o: a PDF is binary; name a file with -o FILE (or pipe stdout)")
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data)} bytes)", err=True)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def register(app: typer.Typer) -> None:
    """Add ``batch`` and ``report`` to ``app``."""

    @app.command()
    def batch(
        start: Annotated[
            str | None,
            typer.Option(
                "--from",
                help="Recompute trips with readings from this date (midnight in "
                "LOGISTREAM_TIMEZONE), or today/yesterday.",
            ),
        ] = None,
        end: Annotated[
            str | None,
            typer.Option("--to", help="... up to this date's midnight, exclusive. Default: all."),
        ] = None,
        workers: Annotated[
            int,
            typer.Option(
                min=1, help="Connections that share the pass over the readings (default: 2)."
            ),
        ] = 2,
        changed: Annotated[
            bool,
            typer.Option(
                "--changed",
                help="Only the trips with readings archived since the last full or --changed "
                "run (all trips if there was none).",
            ),
        ] = False,
    ) -> None:
        """Recompute the batch views (trips, compliance, MKT, fuel, drivers, reconciliation)."""
        import psycopg

        from logistream import shutdown
        from logistream.batch.config_audit import record_files_in_use
        from logistream.batch.views.recompute import Scope, recompute
        from logistream.config import get_settings

        low, high = _parse_day(start, "--from"), _parse_day(end, "--to")
        if low is not None and high is not None and high <= low:
            raise ConfigError("--to must be after --from")
        if changed and (low is not None or high is not None):
            raise ConfigError("--changed takes no --from or --to")

        def progress(step: str, elapsed_s: float) -> None:
            # One line per step on stderr, so a long run shows where it is.
            typer.echo(f"batch: {elapsed_s:7.1f} s  {step}", err=True)

        # A stop (Ctrl+C, SIGTERM) cancels the run: rolled back, the views stay as they were.
        with shutdown.stop_on_signals() as stop, _connect() as conn:
            record_files_in_use(conn, get_settings(), "batch")
            try:
                result = recompute(
                    conn,
                    _registry(),
                    Scope(start=low, end=high, changed=changed),
                    workers=workers,
                    progress=progress,
                    stop=stop,
                )
            except psycopg.errors.QueryCanceled:
                if not stop.is_set():
                    raise
                typer.echo("batch: stopped; the views are as the last committed run left them",
                           err=True)  # fmt: skip
                return
            rows = conn.execute(
                "SELECT status, count(*) FROM reconciliation GROUP BY 1 ORDER BY 1"
            ).fetchall()
        recon = ", ".join(f"{n} {s}" for s, n in rows) or "no temperature alarms"
        typer.echo(f"batch: {result.trips} trips recomputed in {result.seconds:.1f} s; "
                   f"reconciliation: {recon}")  # fmt: skip

    report = typer.Typer(help="Trip temperature reports and fleet reports.", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("trip")
    def report_trip(
        trip_id: Annotated[str, typer.Argument(help="The trip id (as in the readings).")],
        fmt: Annotated[str, typer.Option("--format", help="pdf, csv or json.")] = "pdf",
        output: Annotated[Path | None, typer.Option("-o", "--output", help="File.")] = None,
        truck: Annotated[
            str | None, typer.Option(help="The truck, if two trucks share the trip id.")
        ] = None,
    ) -> None:
        """A trip temperature report a quality manager can sign (versioned, never overwritten)."""
        from logistream.batch.reports.render import render
        from logistream.batch.reports.trip import issue

        _check_format(fmt)
        with _connect() as conn:
            content = issue(conn, _registry(), trip_id, truck)
        typer.echo(
            f"trip {trip_id}: version {content.get('version')}, verdict {content.get('verdict')}, "
            f"digest {content['digest'][:16]}…",
            err=True,
        )
        _write(render(content, fmt), output, fmt)

    @report.command("shipment")
    def report_shipment(
        shipment_id: Annotated[str, typer.Argument(help="The shipment id.")],
        fmt: Annotated[str, typer.Option("--format", help="pdf, csv or json.")] = "pdf",
        output: Annotated[Path | None, typer.Option("-o", "--output", help="File.")] = None,
    ) -> None:
        """A shipment report, lot by lot, with release verdicts (versioned, never overwritten)."""
        from logistream.batch.reports.shipment import issue_for
        from logistream.batch.reports.shipment_render import render_shipment

        _check_format(fmt)
        with _connect() as conn:
            content = issue_for(conn, _registry(), shipment_id)
        typer.echo(
            f"shipment {shipment_id}: version {content.get('version')}, worst lot "
            f"{content.get('verdict')}, digest {content['digest'][:16]}…",
            err=True,
        )
        _write(render_shipment(content, fmt), output, fmt)

    @report.command("fleet")
    def report_fleet(
        start: Annotated[
            str,
            typer.Option(
                "--from", help="First day (in LOGISTREAM_TIMEZONE), inclusive; or today/yesterday."
            ),
        ],
        end: Annotated[
            str,
            typer.Option(
                "--to", help="Last day (in LOGISTREAM_TIMEZONE), inclusive; or today/yesterday."
            ),
        ],
        fmt: Annotated[str, typer.Option("--format", help="pdf, csv or json.")] = "pdf",
        output: Annotated[Path | None, typer.Option("-o", "--output", help="File.")] = None,
    ) -> None:
        """Fuel efficiency and driver scorecards for trips that started in the period."""
        from logistream.batch.reports.render import render
        from logistream.batch.reports.trip import fleet_content

        _check_format(fmt)
        low = _parse_day(start, "--from")
        high = _parse_day(end, "--to", whole_day=True)  # a last day is included
        assert low is not None
        assert high is not None
        if high <= low:
            raise ConfigError("--to must not be before --from")
        with _connect() as conn:
            content = fleet_content(conn, low, high)
        _write(render(content, fmt), output, fmt)
