"""Collector endpoint: bearer token in constant time, off without a token, CSRF-exempt only there."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from litestar.testing import AsyncTestClient

from app import traffic
from app.main import create_app
from app.tables.traffic import TrafficSample
from tests import factories
from tests.conftest import post_form

pytestmark = pytest.mark.anyio
TOKEN = "kolektor-Źdźbło-123"
PAYLOAD = "10.7.0.1 100 2000\nbroken line\n10.99.0.1 1 1\n"


@pytest.fixture
async def collector(settings):
    app = create_app(dataclasses.replace(settings, collector_token=TOKEN.encode().hex()))
    async with AsyncTestClient(app=app) as client:
        client.follow_redirects = False
        yield client


async def test_right_token_stores_and_reports(collector):
    await factories.customer(ip="10.7.0.1")
    response = await collector.post("/api/traffic", content=PAYLOAD,
                                    headers={"Authorization": f"Bearer {TOKEN.encode().hex()}"})
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[0].startswith("traffic ingest: 1 stored, 1 bad lines, 1 unknown IPs")
    assert lines[1] == "line 2: expected: IP upload download: broken line"
    assert await TrafficSample.count() == 1


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN.encode().hex()}", "Bearer "])
async def test_missing_or_wrong_token_is_refused(collector, header):
    await factories.customer(ip="10.7.0.1")
    headers = {"Authorization": header} if header else {}
    response = await collector.post("/api/traffic", content=PAYLOAD, headers=headers)
    assert response.status_code == 401
    assert await TrafficSample.count() == 0


async def test_endpoint_is_off_without_a_configured_token(client):
    response = await client.post("/api/traffic", content=PAYLOAD, headers={"Authorization": "Bearer "})
    assert response.status_code == 404
    assert await TrafficSample.count() == 0


async def test_a_fresh_period_after_a_publication_is_accepted(collector):
    await factories.customer(ip="10.7.0.1")
    await traffic.ingest("10.7.0.1 1 1", datetime.now(timezone.utc) - timedelta(days=2))
    await traffic.publish()
    # Published up to today's midnight; "now" is after it, so a fresh payload is accepted.
    ok = await collector.post("/api/traffic", content=PAYLOAD,
                              headers={"Authorization": f"Bearer {TOKEN.encode().hex()}"})
    assert ok.status_code == 200
    assert await TrafficSample.count() == 2


async def test_already_published_period_is_a_conflict(collector):
    await factories.customer(ip="10.7.0.1")
    now = datetime.now(timezone.utc)
    await traffic.ingest("10.7.0.1 1 1", now - timedelta(days=2))
    # A publication run with a clock two days ahead: today is published, so samples
    # stamped now could never be aggregated and are refused whole.
    tomorrow = traffic.warsaw_today(now) + timedelta(days=1)
    await traffic.publish(tomorrow, now=now + timedelta(days=2))
    refused = await collector.post("/api/traffic", content=PAYLOAD,
                                   headers={"Authorization": f"Bearer {TOKEN.encode().hex()}"})
    assert refused.status_code == 409
    assert "is already published" in refused.text and refused.headers["content-type"].startswith("text/plain")
    assert await TrafficSample.count() == 1


async def test_csrf_still_guards_other_posts(collector, admin_client):
    # No CSRF token: the exemption covers only the collector path.
    assert (await admin_client.post("/admin/traffic/publish")).status_code == 403
    assert (await collector.post("/login", data={"customer_id": "1", "pin": "1234"})).status_code == 403
    from litestar.middleware._utils import build_exclude_path_pattern

    pattern = build_exclude_path_pattern(exclude=collector.app.csrf_config.exclude)
    assert pattern.findall("/api/traffic")
    assert not any(pattern.findall(p) for p in ("/api/traffic/x", "/x/api/traffic", "/api/trafficx"))
    ok = await post_form(admin_client, "/admin/traffic/publish")
    assert ok.status_code == 303
