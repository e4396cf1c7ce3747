"""Which routes a shipper's or receiver's token may call (``api.auth.tenant_may_use``): the
reads scoped for tenants, never acknowledging an alert or setting a truck's mode."""

from __future__ import annotations

import pytest

from logistream.api.auth import tenant_may_use


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shipments",
        "/v1/shipments/SHP-1/report",
        "/v1/stream",
        "/v1/trucks",
        "/v1/trucks/KCK 293K",
        "/v1/alerts",
        "/v1/alerts/open",
        "/v1/alerts/a-123",
        "/v1/trips",
        "/v1/trips/KCK 293K/T-1",
        "/v1/trips/KCK 293K/T-1/readings",
        "/v1/trips/KCK 293K/T-1/report",
    ],
)
def test_the_tenants_reads_are_open(path: str) -> None:
    assert tenant_may_use(path)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/alerts/a-123/ack",
        "/v1/trucks/KCK 293K/mode",
        "/v1/modes",
        "/v1/modes/m-1/approve",
        "/v1/readings",
        "/v1/pipeline",
        "/v1/alertsx",
        "/v1/tripsy/x",
    ],
)
def test_acknowledging_modes_ingest_and_the_rest_are_the_carriers(path: str) -> None:
    assert not tenant_may_use(path)
