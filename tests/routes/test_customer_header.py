"""X-WBOK-Customer: each customer answer names the customer it was rendered for (the scale
run checks it under load across workers); anonymous and operator answers carry none."""

from __future__ import annotations

from tests import factories
import pytest

from tests.conftest import PARTIAL, post_form

pytestmark = pytest.mark.anyio


async def test_every_customer_answer_names_its_customer(customer_client):
    me = customer_client.customer
    for path, headers in (("/info", {}), ("/finances", PARTIAL), ("/helpdesk", PARTIAL), ("/stats", PARTIAL)):
        response = await customer_client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["x-wbok-customer"] == str(me.id), path


async def test_anonymous_and_operator_answers_name_nobody(client, admin_client):
    other = await factories.customer()
    assert "x-wbok-customer" not in (await client.get("/login")).headers
    assert "x-wbok-customer" not in (await admin_client.get(f"/admin/customers/{other.id}")).headers
    response = await post_form(client, "/login", {"customer_id": str(other.id), "pin": "000000"})
    assert "x-wbok-customer" not in response.headers
