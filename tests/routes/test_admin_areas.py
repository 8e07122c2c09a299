"""The admin is a fragment section too: every area answers a plain request with the whole
page and the admin menu's htmx request with the area's fragment alone, from one URL."""

from __future__ import annotations

import pytest

from tests import factories
from tests.conftest import fragment_root, soup

pytestmark = pytest.mark.anyio

PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Target": "main#content"}

# (URL, the fragment's root id, the menu entry marked current; None = no entry: the dashboard)
AREAS = [
    ("/admin", "dashboard-home", None),
    ("/admin/customers", "customers-search", "/admin/customers"),
    ("/admin/payments", "payments-overview", "/admin/payments"),
    ("/admin/tariffs", "tariffs-list", "/admin/tariffs"),
    ("/admin/billing", "billing-overview", "/admin/billing"),
    ("/admin/payments/import", "payments-import", "/admin/payments/import"),
    ("/admin/changes", "changes-queue", "/admin/changes"),
    ("/admin/messages", "messages-compose", "/admin/messages"),
    ("/admin/helpdesk", "helpdesk-overview", "/admin/helpdesk"),
    ("/admin/traffic", "traffic-publication", "/admin/traffic"),
    ("/admin/ksef", "ksef-documents", "/admin/ksef"),
    ("/admin/invoices", "invoices-register", "/admin/invoices"),
    ("/admin/debtors", "debtors-overview", "/admin/debtors"),
]


@pytest.mark.parametrize(("url", "root", "current"), AREAS)
async def test_area_page_and_fragment(admin_client, url, root, current):
    page = await admin_client.get(url)
    assert page.status_code == 200 and "HX-Request" in page.headers["vary"]
    doc = soup(page)
    assert doc.select_one(f"main#content > #{root}") is not None
    marked = [a["href"] for a in doc.select("nav#tabs a[aria-current=page]")]
    assert marked == ([current] if current else [])

    fragment = await admin_client.get(url, headers=PARTIAL)
    assert fragment.status_code == 200
    part = soup(fragment)
    assert fragment_root(part).get("id") == root, "the fragment's root is the area itself"
    assert part.select_one("html, nav#tabs, main") is None
    # One URL, two bodies from the same data: the fragment is what the page's #content holds.
    assert [t.name for t in part.select(f"#{root} *")] == [t.name for t in doc.select(f"#{root} *")]


async def test_menu_swaps_areas_by_htmx_with_the_url_pushed(admin_client):
    doc = soup(await admin_client.get("/admin/changes"))
    links = doc.select("nav#tabs a")
    assert len(links) == len(AREAS) - 1
    for a in links:
        assert a["hx-get"] == a["href"] and a["hx-target"] == "#content" and a["hx-push-url"] == "true"


async def test_search_box_refreshes_only_the_list(admin_client):
    await factories.customer("Anna Wiśniewska")
    list_only = soup(await admin_client.get("/admin/customers", params={"q": "anna"},
                                            headers={**PARTIAL, "HX-Target": "div#customers-list"}))
    assert fragment_root(list_only).get("id") == "customers-list"
    assert [td.get_text(strip=True) for td in list_only.select("tbody td:nth-of-type(2)")] == ["Anna Wiśniewska"]


async def test_inner_admin_pages_answer_page_and_fragment(admin_client):
    """The pages below the areas too: a customer, the new-customer form, a device, a
    customer's finances, a tariff, a ticket."""
    from app import devices

    tariff_id = await factories.tariff("Światłowód 300")
    customer = await factories.customer(ip="10.0.0.7")
    device_id = (await devices.list_devices(customer.id))[0]["id"]
    ticket_id = await factories.ticket(customer.id)
    pages = [(f"/admin/customers/{customer.id}", "customers-detail"), ("/admin/customers/new", "customers-new"),
             (f"/admin/customers/{customer.id}/devices/{device_id}", "customers-device"),
             (f"/admin/customers/{customer.id}/finances", "finances-customer"),
             (f"/admin/tariffs/{tariff_id}", "tariffs-edit"), (f"/admin/helpdesk/{ticket_id}", "helpdesk-ticket")]
    for url, root in pages:
        doc = soup(await admin_client.get(url))
        assert doc.select_one(f"main#content > #{root}") is not None, url
        part = soup(await admin_client.get(url, headers=PARTIAL))
        assert fragment_root(part).get("id") == root and part.select_one("nav#tabs") is None, url
    year = soup(await admin_client.get(f"/admin/customers/{customer.id}/finances",
                                       headers={**PARTIAL, "HX-Target": "section#admin-finances-statement"}))
    assert fragment_root(year).get("id") == "admin-finances-statement"
