"""Tenancy's pure rules: whom a token or account reads for, which API routes a shipper's or
receiver's token may call, and that a scope without an organisation is refused before any SQL."""

from __future__ import annotations

from typing import Any

import pytest

from logistream.api.auth import tenant_may_use
from logistream.reads.tenancy import CARRIER, is_carrier, scoped, tenant_of
from logistream.serving.users import User, check_organisation


def test_a_token_of_no_organisation_reads_for_the_carrier() -> None:
    assert tenant_of(None) == CARRIER == "carrier"
    assert tenant_of("kemsa") == "kemsa"
    assert is_carrier(None)
    assert is_carrier("carrier")
    assert not is_carrier("kemsa")


def test_an_account_is_the_carriers_unless_it_names_another() -> None:
    assert check_organisation(None) == "carrier"
    assert check_organisation(" moh-western ") == "moh-western"
    assert User("ann", "viewer").organisation == "carrier"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/shipments", True),
        ("/v1/shipments/SHP-1", True),
        ("/v1/shipments/SHP-1/report", True),
        ("/v1/stream", True),
        ("/v1/shipmentsX", False),
        ("/v1/trucks", True),  # its trucks in care only (api.tenant_live)
        ("/v1/trucks/KCB 781C", True),
        ("/v1/alerts/open", True),
        ("/v1/alerts", True),  # the archive, under row-level security (0055)
        ("/v1/alerts/a1/ack", False),
        ("/v1/trips", True),  # whole trips within its windows only (0055)
        ("/v1/trucks/KCB 781C/mode", False),
        ("/v1/readings", False),
    ],
)
def test_a_shippers_token_may_use_its_shipments_and_its_stream_only(
    path: str, allowed: bool
) -> None:
    assert tenant_may_use(path) is allowed


def test_a_blank_organisation_is_refused_before_the_connection_is_used() -> None:
    untouched: Any = object()  # any use of it would raise AttributeError, not ValueError
    with pytest.raises(ValueError, match="an organisation id is needed"), scoped(untouched, ""):
        pass
