"""Who a change is recorded as when no signed-in person makes it: a command-line change is
``cli:<OS user>`` from source ``cli`` (the name ``logistream shipments``, ``trucks
adopt|dismiss`` and the other commands record as ``by``); a change whose caller names nobody
(the demo's set-up, tests) is :data:`SERVICE`. Both act for the carrier (organisation
``carrier``, :data:`logistream.audit.trail.CARRIER`), as its dashboard staff and its API tokens of
no organisation are recorded: one convention for the carrier's staff and systems."""

from __future__ import annotations

from typing import Final

from logistream.audit.trail import CARRIER, Actor

SERVICE: Final = Actor("logistream", "service", CARRIER)


def cli_user() -> str:
    """``cli:<OS user>``, or ``cli`` when the system names no user."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "cli"


def cli_actor() -> Actor:
    return Actor(cli_user(), "cli", CARRIER)
