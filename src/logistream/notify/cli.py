"""``logistream notify`` (the notifier) and ``logistream notify test-route`` (who would be told).

Registered with :func:`register`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final

import typer

from logistream import shutdown
from logistream.errors import ConfigError, LogiStreamError
from logistream.log_setup import setup_logging

MIGRATE_WAIT_S: Final = 600.0
"""How long a starting notifier waits for PostgreSQL before it gives up with an error."""

RoutingOption = Annotated[
    Path | None,
    typer.Option(
        "--routing",
        help="Your routing rules (TOML); default: LOGISTREAM_NOTIFY_ROUTING_FILE or shipped.",
    ),
]  # fmt: skip


def serve(
    ctx: typer.Context,
    routing: RoutingOption = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL of the ack links (the API's public URL).")
    ] = None,
) -> None:
    """Send alert changes to the people the routing rules name; escalate; watch the pipeline."""
    if ctx.invoked_subcommand is not None:
        return
    setup_logging()  # progress and retries, not only warnings
    from logistream.config import get_settings, resolve_endpoints
    from logistream.notify.options import load_options
    from logistream.notify.routing import load_routing
    from logistream.notify.service import Notifier
    from logistream.registry import cached_registry
    from logistream.schema.migrate import migrate_waiting

    overrides = {k: v for k, v in {"routing_file": routing, "public_url": public_url}.items() if v}
    options = load_options(**overrides)
    settings = get_settings()
    rules = load_routing(options.routing_file)
    endpoints = resolve_endpoints(settings)
    notifier = Notifier(settings, options, rules, cached_registry(settings.registry_dir), endpoints)
    # First signal: finish the batch and the sends in hand, exit 0. Second: die at once.
    with shutdown.stop_on_signals() as stop:
        # The log's tables come with migration 0040; a notifier started before its database
        # (or during an outage) waits for it.
        if not migrate_waiting(settings, endpoints.database_url, MIGRATE_WAIT_S, stop.is_set):
            return
        typer.echo(
            f"notifier: {settings.topic_alerts} -> e-mail, SMS, webhooks (group "
            f"{settings.notify_group}, routing {rules.source}); Ctrl+C stops",
            err=True,
        )
        notifier.run(stop)
    typer.echo("notifier stopped cleanly", err=True)


def route_preview(
    truck: Annotated[str, typer.Option(help="Truck id (plate), e.g. 'KCK 293K'.")],
    rule: Annotated[str, typer.Option(help="Alert rule, e.g. temp_critical.")] = "temp_critical",
    severity: Annotated[
        str | None, typer.Option(help="critical|major|minor|warning (default: the rule's usual).")
    ] = None,
    state: Annotated[str, typer.Option(help="open|acknowledged|resolved.")] = "open",
    cargo: Annotated[str | None, typer.Option(help="Cargo (default: the truck's).")] = None,
    at: Annotated[
        str | None, typer.Option(help="When, ISO 8601 (default now; no zone = the routing's).")
    ] = None,
    routing: RoutingOption = None,
) -> None:
    """Print who would be told about such an alert, on which channel, and the escalation."""
    from zoneinfo import ZoneInfo

    from logistream.config import get_settings
    from logistream.notify.options import load_options
    from logistream.notify.routing import (
        SEVERITIES,
        AlertFacts,
        escalates,
        escalation_targets,
        load_routing,
        route_alert,
    )
    from logistream.registry import cached_registry

    options = load_options(**({"routing_file": routing} if routing else {}))
    cfg = load_routing(options.routing_file)
    registry = cached_registry(get_settings().registry_dir)
    usual = {"temp_critical": "critical", "temp_rising": "warning", "door_open": "minor"}
    sev = severity or usual.get(rule, "major")
    if sev not in SEVERITIES:
        raise ConfigError(f"--severity {sev!r}: use one of {', '.join(SEVERITIES)}")
    now = time.time()
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as error:
            raise ConfigError(f"--at {at!r}: not an ISO 8601 time ({error})") from error
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(cfg.timezone))
        now = moment.timestamp()
    t = registry.truck(truck)
    facts = AlertFacts(
        truck_id=truck, rule=rule, severity=sev, state=state,
        cargo=cargo or (t.cargo if t else None), route=t.route if t else None,
        driver_id=t.driver_id if t else None,
    )  # fmt: skip
    zone = ZoneInfo(cfg.timezone)
    when = datetime.fromtimestamp(now, zone)
    typer.echo(
        f"{truck} {rule} ({sev}, {state}), cargo {facts.cargo or '-'}, route "
        f"{facts.route or '-'}, at {when:%Y-%m-%d %H:%M %Z}:"
    )

    def show(level: str, targets: list[object]) -> None:
        from logistream.notify.routing import Target

        if not targets:
            typer.echo(f"  {level}: nobody")
        for tg in targets:
            assert isinstance(tg, Target)
            held = (
                f"  (quiet hours: held until {datetime.fromtimestamp(tg.not_before, zone):%H:%M})"
                if tg.not_before else ""
            )  # fmt: skip
            typer.echo(f"  {level}: {tg.person.name} [{tg.person.key}] by {tg.channel} to "
                       f"{tg.address}{held}")  # fmt: skip

    show("now", list(route_alert(cfg, facts, now)))
    if state == "open" and escalates(cfg, sev):
        for lv in cfg.levels:
            later = now + lv.after_s
            targets = escalation_targets(cfg, facts, lv.level, later)
            show(f"+{lv.after_s / 60:g} min unacked (level {lv.level})", list(targets))
    elif state == "open":
        typer.echo(f"  no escalation for {sev} alerts")


def register(app: typer.Typer) -> None:
    """Add ``notify`` and ``notify test-route`` to ``app``."""
    notify_app = typer.Typer(
        help="Notifications (e-mail, SMS, webhooks), escalation and the pipeline watchdog.",
        add_completion=False,
    )
    notify_app.callback(invoke_without_command=True)(serve)
    notify_app.command("test-route")(route_preview)
    app.add_typer(notify_app, name="notify")


def main() -> None:
    """``python -m logistream.notify``: the same as ``logistream notify`` before it is wired in."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    try:
        app(["notify", *sys.argv[1:]], prog_name="logistream")
    except LogiStreamError as error:
        print(f"logistream: {error}", file=sys.stderr)
        sys.exit(2)
