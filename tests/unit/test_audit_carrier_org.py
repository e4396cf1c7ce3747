"""The carrier's staff and systems are recorded as organisation 'carrier' however they act
(pure): a CLI user and a service given without an organisation, the CLI's and the services'
own actors; a tenant's organisation and an e-mailed link's unknown one are kept."""

from __future__ import annotations

from logistream.audit.actors import SERVICE, cli_actor
from logistream.audit.trail import CARRIER, Actor, as_recorded


def test_cli_and_service_actors_are_the_carriers() -> None:
    assert cli_actor().organisation == CARRIER == "carrier"
    assert SERVICE.organisation == CARRIER
    assert as_recorded(Actor("cli:ops", "cli")) == Actor("cli:ops", "cli", "carrier")
    assert as_recorded(Actor("bridge", "service")) == Actor("bridge", "service", "carrier")


def test_a_tenant_and_an_unknown_link_holder_are_kept() -> None:
    shipper = Actor("kemsa-bot", "api", "kemsa")
    assert as_recorded(shipper) is shipper
    assert as_recorded(Actor("amina", "dashboard", "carrier")).organisation == "carrier"
    # An e-mailed ack link names a person, not an organisation: not known, not guessed.
    assert as_recorded(Actor("Amina Otieno", "api")).organisation is None
