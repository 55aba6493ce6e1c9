"""Schemathesis against our own OpenAPI document: no 5xx, and every answer matches its schema.

Each operation of the document is one test: schema-valid requests (positive) and invalid ones
(negative), a bounded, derandomized number of each, sent in-process to the ASGI app with API
auth off. The database holds a few rows first (products, customers, orders in every state, a
purchase order and its receipt), so that small generated ids reach real rows, not only 404s.

Checked: no server error, a documented status code, content type and headers, and a body that
validates against the response schema. Not checked (reported, not failures): requests valid by
the schema that the service refuses with 422 because its own validation is stricter.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.entrypoints.api.app import create_app

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}  # per operation
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
METHODS = {"get", "post", "put", "patch", "delete"}


def documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the document (built without a database)."""
    document = create_app(release_loop=False).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    ]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schemathesis") / "api.db"
    settings_ = Settings(database_url=f"sqlite:///{path}", api_auth=False, payment_gateway="manual")
    backend = build(settings_, clock=lambda: NOW)
    api = create_app(backend, release_loop=False)
    seed_rows(TestClient(api))
    yield schemathesis.openapi.from_asgi("/openapi.json", api)
    backend.close()


def seed_rows(http: TestClient) -> None:
    """Products A (allow) and B (deny), three customers, orders allocated, waiting, shipped and
    cancelled, a supplier with a sent purchase order and a receipt against its line."""

    def post(url: str, body: dict | None = None) -> dict:
        response = http.post(url, json=body)
        assert response.status_code in (200, 201), (url, response.text)
        return response.json()

    post(
        "/products",
        {"sku": "A", "name": "Anchor", "price_minor": 1250, "backorder_policy": "allow"},
    )
    post("/products", {"sku": "B", "name": "Buoy", "price_minor": 300})
    post("/receipts", {"sku": "A", "qty": 5, "reference": "R-A"})
    post("/receipts", {"sku": "B", "qty": 3, "reference": "R-B"})
    ann, vip, bob = (
        post("/customers", {"name": name, "tier": tier, "email": f"{name}@example.com"})["id"]
        for name, tier in (("ann", "standard"), ("vip", "critical"), ("bob", "priority"))
    )
    post("/orders", {"customer_id": ann, "lines": [{"sku": "A", "qty": 3}]})
    post(
        "/orders",
        {
            "customer_id": vip,
            "lines": [{"sku": "A", "qty": 4}, {"sku": "B", "qty": 1}],
            "payment": {"gateway": "manual"},
        },
    )
    shipped = post("/orders", {"customer_id": bob, "lines": [{"sku": "B", "qty": 1}]})
    post(f"/orders/{shipped['id']}/shipments", {"reference": "S-1"})
    cancelled = post("/orders", {"customer_id": ann, "lines": [{"sku": "B", "qty": 1}]})
    post(f"/orders/{cancelled['id']}/cancel")
    supplier = post("/suppliers", {"name": "Sea Supply", "lead_time_days": 10})
    expected = (NOW + timedelta(days=10)).date().isoformat()
    line = {"sku": "A", "qty": 4, "expected_date": expected}
    po = post("/purchase-orders", {"supplier_id": supplier["id"], "lines": [line]})
    post(f"/po-lines/{po['lines'][0]['id']}/receipts", {"qty": 1, "reference": "PO-R-1"})


def run_examples(operation, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def examples(case) -> None:
        case.call_and_validate(checks=CHECKS)

    examples()


@pytest.mark.e2e
@pytest.mark.parametrize(("method", "path"), documented_operations())
def test_every_answer_matches_the_openapi_document_and_none_is_a_server_error(
    api_schema, method, path
):
    operation = api_schema[path][method]
    run_examples(operation, GenerationMode.POSITIVE)
    with suppress(Unsatisfiable):  # nothing to make invalid: no parameters and no body
        run_examples(operation, GenerationMode.NEGATIVE)
