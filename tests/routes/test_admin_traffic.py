"""Admin: the traffic publication page and button; a customer's devices."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app import traffic
from app.tables.customers import Device
from tests import factories
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio


async def test_publish_now_and_the_runs_table(admin_client):
    await factories.customer(ip="10.8.0.1")
    await traffic.ingest("10.8.0.1 10 20", datetime.now(timezone.utc) - timedelta(days=1, hours=1))
    page = soup(await admin_client.get("/admin/traffic"))
    assert "Statystyki nie zostały jeszcze opublikowane." in texts(page.select_one("#traffic-stamp"))
    assert [a["href"] for a in page.select("nav#tabs a")][-1] == "/admin/traffic"
    response = await post_form(admin_client, "/admin/traffic/publish")
    assert response.status_code == 303 and response.headers["location"] == "/admin/traffic?m=published"
    page = soup(await admin_client.get(response.headers["location"]))
    assert texts(page.select_one(".notice")) == "Statystyki opublikowane."
    cells = [texts(td) for td in page.select("#traffic-runs tbody tr")[0].select("td")]
    assert cells[3] == "1" and cells[4] == "zakończona" and cells[1] and cells[2]
    again = await post_form(admin_client, "/admin/traffic/publish")
    assert again.headers["location"] == "/admin/traffic?m=nothing"


async def test_traffic_admin_requires_operator(customer_client):
    response = await customer_client.get("/admin/traffic")
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


async def test_add_edit_delete_device(admin_client):
    who = await factories.customer()
    response = await post_form(admin_client, f"/admin/customers/{who.id}/devices",
                               {"name": "Telewizor Łazienka", "ip": " 10.9.0.5 ", "mac": "AA-BB-CC-DD-EE-0F"})
    assert response.status_code == 303
    page = soup(await admin_client.get(response.headers["location"]))
    assert texts(page.select_one(".notice")) == "Urządzenie zapisane."
    row = page.select("#device-list tbody tr")[0]
    assert [texts(td) for td in row.select("td")[:3]] == ["Telewizor Łazienka", "10.9.0.5", "aa:bb:cc:dd:ee:0f"]
    device_id = (await Device.select(Device.id).where(Device.ip == "10.9.0.5"))[0]["id"]
    edit = soup(await admin_client.get(f"/admin/customers/{who.id}/devices/{device_id}"))
    assert edit.select_one("#device-form input[name=ip]")["value"] == "10.9.0.5"
    response = await post_form(admin_client, f"/admin/customers/{who.id}/devices/{device_id}",
                               {"name": "Telewizor", "ip": "10.9.0.6", "mac": ""})
    assert response.status_code == 303
    assert (await Device.select(Device.name, Device.ip, Device.mac).where(Device.id == device_id))[0] == {
        "name": "Telewizor", "ip": "10.9.0.6", "mac": ""}
    response = await post_form(admin_client, f"/admin/customers/{who.id}/devices/{device_id}/delete")
    assert response.status_code == 303 and not await Device.exists().where(Device.id == device_id)


async def test_bad_device_input_is_422_with_messages_and_values(admin_client):
    who = await factories.customer(ip="10.9.0.1")
    response = await post_form(admin_client, f"/admin/customers/{who.id}/devices",
                               {"name": "", "ip": "10.9.0.999", "mac": "zz:zz"})
    assert response.status_code == 422
    form = soup(response).select_one("#device-form")
    assert [texts(p) for p in form.select(".field-error")] == [
        "Podaj nazwę urządzenia.", "Podaj prawidłowy adres IP, np. 10.9.0.999.".replace("10.9.0.999", "10.1.2.3"),
        "Adres MAC to 12 cyfr szesnastkowych, np. 00:1a:2b:3c:4d:5e."]
    assert form.select_one("input[name=ip]")["value"] == "10.9.0.999"
    taken = await post_form(admin_client, f"/admin/customers/{who.id}/devices",
                            {"name": "Drugi", "ip": "10.9.0.1", "mac": ""})
    assert taken.status_code == 422
    assert texts(soup(taken).select_one("#device-form .field-error")) == "Ten adres IP ma już inne urządzenie."
    assert await Device.count() == 1


async def test_another_customers_device_is_404(admin_client):
    owner = await factories.customer(ip="10.9.1.1")
    other = await factories.customer()
    device_id = (await Device.select(Device.id).where(Device.ip == "10.9.1.1"))[0]["id"]
    assert (await admin_client.get(f"/admin/customers/{other.id}/devices/{device_id}")).status_code == 404
    response = await post_form(admin_client, f"/admin/customers/{other.id}/devices/{device_id}/delete")
    assert response.status_code == 404 and await Device.exists().where(Device.customer == owner.id)
    assert (await post_form(admin_client, "/admin/customers/99999/devices",
                            {"name": "X", "ip": "10.9.9.9"})).status_code == 404
