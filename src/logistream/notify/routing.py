"""Who is told about an alert change, on which channel, and when (pure).

The rules come from TOML (the shipped ``notify/routing.toml`` or your own file, see its
comments): *people* with their addresses, *roles* (one person, an on-duty rota, or the truck's
driver), *routes* that match alert changes by severity, rule, cargo, route, truck and state,
*escalation* levels, *quiet hours* and the *watchdog*'s recipients. Every matching route
contributes its recipients; a person is told once per channel per change. Clock times are in
the file's ``timezone`` (default Africa/Nairobi); quiet hours hold non-critical messages until
they end.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logistream.errors import ConfigError

CHANNELS: Final = ("email", "sms", "webhook")
SEVERITIES: Final = ("critical", "major", "minor", "warning")
STATES: Final = ("open", "acknowledged", "resolved")
SILENT_STATES: Final = ("suppressed",)
"""Alert changes that are records only, never sent: ``suppressed``, a temperature alarm held
during the truck's operating mode (the speed layer's ``mode_hold``)."""
DRIVER_ROLE_PREFIX: Final = "driver:"


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # spans midnight


@dataclass(frozen=True, slots=True)
class Person:
    key: str
    """Stable id in the log and the idempotency key (``amina``, ``driver:DRV-001``)."""
    name: str
    """Shown in messages and recorded as who acknowledged through a link."""
    email: str | None = None
    sms: str | None = None
    webhook: str | None = None
    quiet_hours: QuietHours | None = None
    quiet_hours_set: bool = False
    """True when the person's own quiet hours (or ``false``: none) override the default."""

    def address(self, channel: str) -> str | None:
        return {"email": self.email, "sms": self.sms, "webhook": self.webhook}[channel]


@dataclass(frozen=True, slots=True)
class Shift:
    start: time
    end: time
    person: str

    def covers(self, moment: time) -> bool:
        return QuietHours(self.start, self.end).contains(moment) or self.start == self.end


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    person: str | None = None
    rota: tuple[Shift, ...] = ()
    driver: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    """Empty tuple: any value matches."""

    severities: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    cargo: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    trucks: tuple[str, ...] = ()
    states: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteRule:
    name: str
    match: Match
    notify: tuple[str, ...]
    channels: tuple[str, ...] = CHANNELS


@dataclass(frozen=True, slots=True)
class Level:
    level: int
    after_s: float
    """Seconds after the alert was first notified (still unacknowledged) that this level fires."""
    notify: tuple[str, ...]
    channels: tuple[str, ...] = CHANNELS


@dataclass(frozen=True, slots=True)
class Watchdog:
    notify: tuple[str, ...] = ()
    channels: tuple[str, ...] = CHANNELS
    speed: bool = True
    bridge: bool = True
    speed_stale_s: float = 30.0
    bridge_stale_s: float = 60.0


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    timezone: str = "Africa/Nairobi"
    people: Mapping[str, Person] = field(default_factory=dict)
    drivers: Mapping[str, Person] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)
    routes: tuple[RouteRule, ...] = ()
    quiet_hours: QuietHours | None = None
    escalate_severities: tuple[str, ...] = ("critical", "major")
    levels: tuple[Level, ...] = ()
    watchdog: Watchdog = Watchdog()
    source: str = "routing.toml"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What routing looks at: the alert change plus the registry's facts about its truck."""

    truck_id: str
    rule: str
    severity: str
    state: str
    cargo: str | None = None
    route: str | None = None
    driver_id: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    person: Person
    channel: str
    address: str
    level: int
    not_before: float | None = None
    """Epoch seconds the send is held until (quiet hours), or None: now."""


# ---- loading -------------------------------------------------------------------------------


def _err(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what}")


def _clock(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise _err(where, f'{value!r} is not a clock time; write "HH:MM"') from None


def _quiet(value: Any, where: str) -> QuietHours | None:
    if value is False:
        return None
    if not isinstance(value, dict) or "from" not in value or "to" not in value:
        raise _err(where, 'write quiet_hours = { from = "21:00", to = "06:00" } (or false)')
    return QuietHours(_clock(value["from"], where), _clock(value["to"], where))


def _strings(value: Any, where: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise _err(where, "expected a string or a list of strings")
    if allowed is not None:
        wrong = [i for i in items if i not in allowed]
        if wrong:
            raise _err(where, f"{wrong[0]!r} is not one of {', '.join(allowed)}")
    return tuple(items)


def _person(key: str, t: Any, where: str) -> Person:
    if not isinstance(t, dict):
        raise _err(where, "expected a table with name and email/sms/webhook")
    unknown = set(t) - {"name", "email", "sms", "webhook", "quiet_hours"}
    if unknown:
        raise _err(where, f"unknown key {sorted(unknown)[0]!r}")
    quiet_set = "quiet_hours" in t
    return Person(
        key=key,
        name=str(t.get("name", key)),
        email=t.get("email"),
        sms=t.get("sms"),
        webhook=t.get("webhook"),
        quiet_hours=_quiet(t["quiet_hours"], f"{where}.quiet_hours") if quiet_set else None,
        quiet_hours_set=quiet_set,
    )


def _role(name: str, t: Any, where: str, people: Mapping[str, Person]) -> Role:
    if not isinstance(t, dict):
        raise _err(where, "expected a table with person, rota or driver = true")
    if t.get("driver"):
        return Role(name=name, driver=True)
    if "person" in t:
        person = str(t["person"])
        if person not in people:
            raise _err(where, f"person {person!r} is not in [people]")
        return Role(name=name, person=person)
    rota = t.get("rota")
    if not isinstance(rota, list) or not rota:
        raise _err(where, 'a role needs person = "...", driver = true, or a rota list')
    shifts = []
    for i, s in enumerate(rota):
        w = f"{where}.rota[{i}]"
        if not isinstance(s, dict) or s.get("person") not in people:
            raise _err(w, "each shift needs from, to and a person from [people]")
        shifts.append(Shift(_clock(s.get("from"), w), _clock(s.get("to"), w), str(s["person"])))
    return Role(name=name, rota=tuple(shifts))


def _names(
    value: Any, where: str, cfg_people: Mapping[str, Any], roles: Mapping[str, Any]
) -> tuple[str, ...]:
    names = _strings(value, where)
    for n in names:
        if n not in cfg_people and n not in roles:
            raise _err(where, f"{n!r} is neither a person in [people] nor a role in [roles]")
    return names


def parse_routing(data: Mapping[str, Any], source: str = "routing.toml") -> RoutingConfig:
    """A :class:`RoutingConfig` from parsed TOML; a mistake raises ConfigError naming the key."""
    tz = str(data.get("timezone", "Africa/Nairobi"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _err(f"{source}: timezone", f"unknown time zone {tz!r}") from None
    people = {
        k: _person(k, v, f"{source}: [people.{k}]") for k, v in dict(data.get("people", {})).items()
    }
    drivers = {
        k: _person(f"{DRIVER_ROLE_PREFIX}{k}", v, f"{source}: [drivers.{k}]")
        for k, v in dict(data.get("drivers", {})).items()
    }
    roles = {
        k: _role(k, v, f"{source}: [roles.{k}]", people)
        for k, v in dict(data.get("roles", {})).items()
    }
    routes = []
    for i, r in enumerate(data.get("route", [])):
        w = f"{source}: [[route]] #{i + 1}"
        if not isinstance(r, dict) or "notify" not in r:
            raise _err(w, "each route needs notify = [...]")
        routes.append(
            RouteRule(
                name=str(r.get("name", f"route {i + 1}")),
                match=Match(
                    severities=_strings(r.get("severity", []), f"{w} severity", SEVERITIES),
                    rules=_strings(r.get("rule", []), f"{w} rule"),
                    cargo=_strings(r.get("cargo", []), f"{w} cargo"),
                    routes=_strings(r.get("route", []), f"{w} route"),
                    trucks=_strings(r.get("truck", []), f"{w} truck"),
                    states=_strings(r.get("state", []), f"{w} state", STATES),
                ),
                notify=_names(r["notify"], f"{w} notify", people, roles),
                channels=_strings(r.get("channels", list(CHANNELS)), f"{w} channels", CHANNELS),
            )
        )
    esc = dict(data.get("escalation", {}))
    levels: list[Level] = []
    for i, lv in enumerate(esc.get("level", [])):
        w = f"{source}: [[escalation.level]] #{i + 1}"
        try:
            after_s = float(lv["after_min"]) * 60.0
        except (KeyError, TypeError, ValueError):
            raise _err(w, "needs after_min = <minutes> and notify = [...]") from None
        if levels and after_s <= levels[-1].after_s:
            raise _err(w, "after_min must grow from one level to the next")
        levels.append(
            Level(
                level=i + 1,
                after_s=after_s,
                notify=_names(lv.get("notify", []), f"{w} notify", people, roles),
                channels=_strings(lv.get("channels", list(CHANNELS)), f"{w} channels", CHANNELS),
            )
        )
    wd = dict(data.get("watchdog", {}))
    try:
        watchdog = Watchdog(
            notify=_names(wd.get("notify", []), f"{source}: [watchdog] notify", people, roles),
            channels=_strings(
                wd.get("channels", list(CHANNELS)), f"{source}: [watchdog]", CHANNELS
            ),
            speed=bool(wd.get("speed", True)),
            bridge=bool(wd.get("bridge", True)),
            speed_stale_s=float(wd.get("speed_stale_s", 30.0)),
            bridge_stale_s=float(wd.get("bridge_stale_s", 60.0)),
        )
    except (TypeError, ValueError) as error:
        raise _err(f"{source}: [watchdog]", f"wrong value ({error})") from None
    quiet = data.get("quiet_hours")
    return RoutingConfig(
        timezone=tz,
        people=people,
        drivers=drivers,
        roles=roles,
        routes=tuple(routes),
        quiet_hours=_quiet(quiet, f"{source}: quiet_hours") if quiet is not None else None,
        escalate_severities=_strings(
            esc.get("severity", ["critical", "major"]),
            f"{source}: [escalation] severity",
            SEVERITIES,
        ),
        levels=tuple(levels),
        watchdog=watchdog,
        source=source,
    )


def load_routing(path: Path | None = None) -> RoutingConfig:
    """Your routing file, or the shipped one when ``path`` is None."""
    if path is None:
        text = resources.files("logistream.notify").joinpath("routing.toml").read_text("utf-8")
        source = "shipped routing.toml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"LOGISTREAM_NOTIFY_ROUTING_FILE: cannot read {path} ({error.strerror})"
            ) from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML ({error})") from None
    return parse_routing(data, source)


# ---- deciding ------------------------------------------------------------------------------


def matches(match: Match, facts: AlertFacts) -> bool:
    pairs = (
        (match.severities, facts.severity),
        (match.rules, facts.rule),
        (match.cargo, facts.cargo),
        (match.routes, facts.route),
        (match.trucks, facts.truck_id),
        (match.states, facts.state),
    )
    return all(not wanted or value in wanted for wanted, value in pairs)


def local_time(cfg: RoutingConfig, now: float) -> datetime:
    return datetime.fromtimestamp(now, cfg.zone)


def resolve(cfg: RoutingConfig, name: str, facts: AlertFacts | None, now: float) -> list[Person]:
    """The people a name stands for now: a person, a role's person, whoever's shift it is, or
    the truck's driver (none when the driver is unknown)."""
    if name in cfg.people:
        return [cfg.people[name]]
    role = cfg.roles[name]
    if role.driver:
        driver = cfg.drivers.get(facts.driver_id or "") if facts else None
        return [driver] if driver else []
    if role.person:
        return [cfg.people[role.person]]
    clock = local_time(cfg, now).time()
    on_duty = [s for s in role.rota if s.covers(clock)]
    return [cfg.people[on_duty[0].person]] if on_duty else []


def quiet_until(cfg: RoutingConfig, person: Person, now: float) -> float | None:
    """When ``now`` is inside the person's quiet hours: the epoch seconds they end."""
    quiet = person.quiet_hours if person.quiet_hours_set else cfg.quiet_hours
    if quiet is None:
        return None
    local = local_time(cfg, now)
    if not quiet.contains(local.time()):
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.timestamp()


def _targets(
    cfg: RoutingConfig,
    names: Sequence[tuple[str, tuple[str, ...]]],
    facts: AlertFacts | None,
    level: int,
    now: float,
    *,
    critical: bool,
) -> list[Target]:
    seen: set[tuple[str, str]] = set()
    out: list[Target] = []
    for name, channels in names:
        for person in resolve(cfg, name, facts, now):
            for channel in channels:
                address = person.address(channel)
                if address is None or (person.key, channel) in seen:
                    continue
                seen.add((person.key, channel))
                hold = None if critical else quiet_until(cfg, person, now)
                out.append(Target(person, channel, address, level, hold))
    return out


def route_alert(cfg: RoutingConfig, facts: AlertFacts, now: float) -> list[Target]:
    """Everyone the matching routes name, for this change (level 0); nobody for a change in a
    silent state (:data:`SILENT_STATES`), whatever the routes say."""
    if facts.state in SILENT_STATES:
        return []
    names = [(n, r.channels) for r in cfg.routes if matches(r.match, facts) for n in r.notify]
    return _targets(cfg, names, facts, 0, now, critical=facts.severity == "critical")


def escalates(cfg: RoutingConfig, severity: str) -> bool:
    return bool(cfg.levels) and severity in cfg.escalate_severities


def next_level_after(cfg: RoutingConfig, levels_done: int) -> float | None:
    """Seconds after first notice at which level ``levels_done + 1`` fires (None: no more)."""
    return cfg.levels[levels_done].after_s if levels_done < len(cfg.levels) else None


def escalation_targets(
    cfg: RoutingConfig, facts: AlertFacts, level: int, now: float
) -> list[Target]:
    lv = cfg.levels[level - 1]
    names = [(n, lv.channels) for n in lv.notify]
    return _targets(cfg, names, facts, level, now, critical=facts.severity == "critical")


def watchdog_targets(cfg: RoutingConfig, now: float) -> list[Target]:
    """A stalled pipeline is urgent: quiet hours do not apply."""
    names = [(n, cfg.watchdog.channels) for n in cfg.watchdog.notify]
    return _targets(cfg, names, None, 0, now, critical=True)
