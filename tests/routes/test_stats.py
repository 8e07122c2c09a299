"""Statystyki: page and fragment for every period, bars and amounts, the stamp, scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import brotli
import pytest

from app import traffic
from tests import factories
from tests.conftest import PARTIAL, soup, texts

pytestmark = pytest.mark.anyio

PERIODS = ("hour", "day", "month", "year", "all")
LABELS = ["Ostatnia godzina", "Ostatni dzień", "Ostatnie 30 dni", "Ostatni rok", "Wszystkie"]


async def publish_for(customer_id: int) -> tuple[date, int]:
    """Yesterday's traffic for the customer's router (10.5.0.1) and laptop, published."""
    await factories.device(customer_id, "10.5.0.2", "Laptop Żanety")
    yesterday = traffic.warsaw_today(datetime.now(timezone.utc)) - timedelta(days=1)
    last_hour = traffic.warsaw_midnight(yesterday + timedelta(days=1)) - timedelta(minutes=30)
    # 3 GiB down / 1 GiB up on the router, a quarter of that on the laptop.
    await traffic.ingest(f"10.5.0.1 {2**30} {3 * 2**30}\n10.5.0.2 {2**28} {3 * 2**28}", last_hour)
    await traffic.publish(yesterday)
    return yesterday, 3 * 2**30 + 3 * 2**28


@pytest.fixture
async def stats_client(client):
    from tests.conftest import post_form

    who = await factories.customer("Żaneta Wróbel", ip="10.5.0.1")
    await post_form(client, "/login", {"customer_id": str(who.id), "pin": who.pin})
    client.customer = who
    return client


async def test_every_period_page_and_fragment(stats_client):
    await publish_for(stats_client.customer.id)
    for period, label in zip(PERIODS, LABELS):
        page = soup(await stats_client.get(f"/stats?period={period}"))
        assert page.select_one("nav#tabs a[aria-current=page]")["href"] == "/stats"
        assert page.select_one("#content section#stats-traffic")
        assert texts(page.select_one(".periods a[aria-current=page]")) == label
        response = await stats_client.get(f"/stats?period={period}", headers=PARTIAL)
        fragment = soup(response)
        assert not fragment.select("html, nav#tabs, header")
        assert fragment.select_one("section#stats-traffic .periods a[aria-current=page]")["href"] == f"/stats?period={period}"
        assert "HX-Request" in response.headers["vary"]


async def test_default_is_month_and_unknown_period_falls_back(stats_client):
    for url in ("/stats", "/stats?period=week"):
        page = soup(await stats_client.get(url))
        assert texts(page.select_one(".periods a[aria-current=page]")) == "Ostatnie 30 dni"


async def test_links_switch_by_htmx_and_work_without_js(stats_client):
    links = soup(await stats_client.get("/stats")).select(".periods a")
    assert [a["href"] for a in links] == [f"/stats?period={p}" for p in PERIODS]
    for a in links:
        assert a["hx-get"] == a["href"] and a["hx-push-url"] == "true" and a["hx-target"] == "#stats-traffic"


async def test_bars_amounts_rates_and_stamp(stats_client):
    yesterday, total_down = await publish_for(stats_client.customer.id)
    section = soup(await stats_client.get("/stats?period=day")).select_one("#stats-traffic")
    rows = section.select("#traffic-table tbody tr")
    assert [texts(r.select_one("th")) for r in rows] == ["Laptop Żanety", "Router"]
    router = rows[1]
    download, upload = router.select("td.dl"), router.select("td.ul")
    assert len(download) == len(upload) == 1
    assert texts(download[0]).startswith("3,00 GiB (") and texts(upload[0]).startswith("1,00 GiB (")
    seconds = (traffic.warsaw_midnight(yesterday + timedelta(days=1)) - traffic.warsaw_midnight(yesterday)).total_seconds()
    expected = traffic.format_rate(3 * 2**30 * 8 / 1000 / seconds)
    assert texts(download[0].select_one(".rate")) == f"({expected})".replace("\u00a0", " ")
    # Bars: scaled to the larger value of the table (the total's download).
    widths = [int(r["width"]) for r in section.select("tr rect")]
    assert widths == [round(100 * 3 * 2**28 / total_down), round(100 * 2**28 / total_down),
                      round(100 * 3 * 2**30 / total_down), round(100 * 2**30 / total_down), 100, 33]
    total = section.select_one("tfoot tr.total")
    assert texts(total.select_one("td.dl")).startswith("3,75 GiB")
    stamp = texts(section.select_one("#traffic-stamp"))
    assert stamp.startswith("Dane opublikowane: ") and yesterday.strftime("%d.%m.%Y") in stamp
    assert "raz dziennie, w godzinach nocnych" in texts(section.select_one(".hint"))


async def test_before_any_publication(stats_client):
    section = soup(await stats_client.get("/stats?period=all")).select_one("#stats-traffic")
    assert texts(section.select_one("#traffic-stamp")) == "Statystyki nie zostały jeszcze opublikowane."
    assert not section.select("#traffic-table")


async def test_customer_sees_only_own_devices(stats_client):
    other = await factories.customer("Inny Sąsiad", ip="10.6.0.1")
    await factories.device(other.id, "10.6.0.2", "Konsola sąsiada")
    await traffic.ingest("10.6.0.1 999 999999\n10.6.0.2 1 1", datetime.now(timezone.utc) - timedelta(days=1))
    await publish_for(stats_client.customer.id)
    for period in PERIODS:
        section = soup(await stats_client.get(f"/stats?period={period}")).select_one("#stats-traffic")
        text = texts(section)
        assert "Konsola sąsiada" not in text and "Inny Sąsiad" not in text
        assert [texts(th) for th in section.select("tbody th")] == ["Laptop Żanety", "Router"]
    totals = await traffic.stats_data(stats_client.customer.id, "month")
    assert totals.total.download.bytes == 3 * 2**30 + 3 * 2**28


async def test_fragment_is_small(stats_client):
    await publish_for(stats_client.customer.id)
    body = (await stats_client.get("/stats?period=year", headers=PARTIAL)).content
    assert len(brotli.compress(body, quality=5)) <= 3 * 1024


async def test_stats_requires_login(client):
    response = await client.get("/stats")
    assert response.status_code == 303 and response.headers["location"] == "/login"
