"""Property-based requests from the committed OpenAPI document (docs/openapi.json), positive and
malformed, against the app over the real stack with real data (a shipment among them): no 5xx,
every status code, content type and body as the document says.

Fixed: Hypothesis is derandomized (the same examples every run) and bounded per operation.
The live stream (/v1/stream) is left out: it never ends, so a generated request would hang;
tests/integration/test_api_live.py covers it.
"""

from __future__ import annotations

import time
from pathlib import Path

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.helpers import wait_until
from tests.integration.api_support import (
    api_client,
    auth,
    bridge_process,
    fetch,
    prepare,
    reading,
)
from tests.integration.speed_support import delete_checkpoint_topic, speed_process

import logistream.shipments
from logistream.config import Settings
from logistream.kafka import make_admin
from logistream.registry import load_registry
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.publish import ensure_topic
from logistream.shipments.wire import to_document

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SHIPMENT_FILE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_operation_matches_the_committed_document(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    print(f"hypothesis derandomize=True, max_examples={EXAMPLES} per operation and mode")
    tokens = prepare(settings, all=["read", "ack", "ingest", "shipments"])
    headers = auth(tokens["all"])
    schema = schemathesis.openapi.from_path(DOCUMENT).exclude(path="/v1/stream")
    now = time.time()
    # Shipments go to a topic of this test's own (the settings fixture names the others).
    shipping = settings.model_copy(update={"topic_shipments": f"{settings.topic_telemetry}.ships"})
    # The speed layer reads its shipments topic whole at start: it must exist before.
    ensure_topic(settings)
    try:
        with (
            api_client(shipping, burst=100_000, rate_per_s=100_000, ack_wait_s=0) as api,
            speed_process(settings_env, log=tmp_path / "speed.log"),
            bridge_process(settings_env, tmp_path / "bridge.log"),
        ):
            # Real data behind the list endpoints: trucks, an open alert, archived changes.
            hot = [reading("KCB 001A", now - 60, 5.0, trip_id="t-1"),
                   reading("KCB 001A", now - 30, 8.6, trip_id="t-1", fuel=40.0)]  # fmt: skip
            assert api.post("/v1/readings", json=hot, headers=headers).status_code == 202
            shipment = to_document(load_shipment_file(SHIPMENT_FILE, load_registry()))
            assert api.post("/v1/shipments", json=shipment, headers=headers).status_code == 201
            wait_until(
                lambda: fetch(settings, "SELECT count(*) FROM alert_changes")[0][0] >= 1,
                what="the alert archived",
            )
            app = api.app
            calls = 0
            for result in schema.get_all_operations():
                operation = result.ok()
                for mode in (schemathesis.GenerationMode.POSITIVE,
                             schemathesis.GenerationMode.NEGATIVE):  # fmt: skip

                    @given(case=operation.as_strategy(generation_mode=mode))
                    @hypothesis.settings(
                        max_examples=EXAMPLES,
                        derandomize=True,
                        deadline=None,
                        database=None,
                        suppress_health_check=list(HealthCheck),
                        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                    )
                    def run(case: schemathesis.Case) -> None:
                        nonlocal calls
                        calls += 1
                        case.call_and_validate(app=app, headers=headers, checks=CHECKS)

                    try:
                        run()
                    except hypothesis.errors.Unsatisfiable:
                        # No parameters and no body: nothing to malform (e.g. /health).
                        assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            print(f"{calls} generated requests")
            assert calls >= EXAMPLES * 10
    finally:
        delete_checkpoint_topic(settings)
        make_admin(settings).delete_topics([shipping.topic_shipments], operation_timeout=30)
