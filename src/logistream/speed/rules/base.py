"""What a rule says about one reading, and the plain data every rule may consult."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from logistream import display_time
from logistream.events import Severity
from logistream.registry import CargoProfile, Waypoint
from logistream.registry.rules import RulesConfig

if TYPE_CHECKING:
    from logistream.speed.rules.calibration import ProbeCalibration

LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Raise:
    """The rule's condition holds: its alert should be open (a no-op when it already is)."""

    rule: str
    event_id: str
    """The reading that opens the alert: with truck and rule it fixes the alert's id."""
    at: float
    """Event time at which the alert opens."""
    what: str
    """The middle of the one-line message, e.g. ``at 9.4 °C for 12 min``."""
    detail: str = ""
    """The end of the message after the dash, e.g. ``range 2–8 °C``."""
    value: float | None = None
    threshold: float | None = None
    severity: Severity | None = None
    """Overrides the configured severity of the rule for this alert."""


@dataclass(frozen=True, slots=True)
class Clear:
    """The condition ended: an open alert of this rule resolves (a no-op when none is open)."""

    rule: str
    at: float
    what: str


Verdict = Raise | Clear
NO_VERDICTS: tuple[Verdict, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Everything a rule may read besides its own state and the reading: plain, immutable data."""

    config: RulesConfig
    profile: CargoProfile
    route: tuple[LatLon, ...] | None
    """The truck's planned route from the registry (None: unknown truck, no deviation rule)."""
    tank_litres: float
    waypoints: tuple[Waypoint, ...] = ()
    """Places to name in messages ("near Voi"): the truck's route, else every route's."""
    registered: bool = True
    """Whether the truck is in the fleet registry (an unknown truck is never expected to report,
    so its silence raises no sensor_offline)."""
    calibration: Mapping[str, ProbeCalibration] = field(default_factory=dict)
    """The calibration record of each of the truck's named probes that has one."""
    timezone: str = display_time.DEFAULT_ZONE_NAME
    """The display zone, where people read times in messages (a held alarm's mode end)."""


def minutes(seconds: float) -> int:
    """Whole minutes for messages (never shows 0 for a started minute)."""
    return max(0, round(seconds / 60.0))


def beyond(value: float, limit: float, *, above: bool, digits: int = 1) -> str:
    """``value`` as text with ``digits`` decimals, or more (up to three more) when rounding
    would make it look not beyond ``limit`` (12.01 above 12 shows "12.01", not "12.0"), so
    that a message's comparison with its threshold stays true."""
    text = f"{value:.{digits}f}"
    for extra in range(digits, digits + 4):
        text = f"{value:.{extra}f}"
        shown = float(text)
        if (shown > limit) if above else (shown < limit):
            return text
    return text
