"""The hostile corpus: random text (NUL and other control characters, lone surrogates, RTL
marks, 100 KB strings) and random integers in every ID, posted to every customer and admin
form and put in every ID of a path. Never a 500; and when the answer is an error, no row
of any table has changed."""

from __future__ import annotations

import os
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.security import hash_secret
from app.tables.customers import Customer
from app.tables.piccolo_app import APP_CONFIG
from tests import factories
from tests.conftest import post_form

pytestmark = pytest.mark.anyio
# PostgreSQL's round trips cost more: fewer examples there.
SCALE = 2 if os.environ.get("WBOK_TEST_DB") == "postgres" else 1

# What may change on an error answer by design: the login journal and sessions, the
# failure counter and lockout (a wrong PIN counts, even in the PIN-change form).
JOURNALS = {"login_attempt", "session", "app_secret", "job_run"}
LOCKOUT_COLUMNS = {"failed_logins", "blocked", "blocked_at"}

# The edges of 32- and 64-bit columns, where the engines refuse a number.
EDGES = st.sampled_from([2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**20, -2**31 - 1, -2**63 - 1])
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list("\x00\x01\x1b\x7f\u202e\u200f\u2066\ud800\udfff\ufeffaą1 -@.\n")),
            max_size=30),
    st.sampled_from(["", "0", "-1", "2147483648", "99999999999999999999", "1e9", "12,50", "2026-13-45",
                     "a@b", "x" * 100_000, "ą" * 30_000, "\x00" * 10, "<script>alert(1)</script>", "on", "all"]),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    EDGES.map(str),
)
FIELDS = {
    "/login": ["customer_id", "pin"],
    "/lang": ["lang", "next"],
    "/info": ["email", "phone", "mail_street", "mail_postal_code", "mail_city", "nip", "invoice_by_email",
              "marketing_consent"],
    "/info/pin": ["current_pin", "new_pin", "new_pin2"],
    "/helpdesk": ["subject", "body", "queue", "token"],
    "/helpdesk/{ticket_id:int}": ["body"],
    "/messages/{message_id:int}/confirm": [],
    "/admin/login": ["username", "password"],
    "/admin/customers": ["name", "email", "phone", "street", "postal_code", "city", "nip", "tariff", "ip"],
    "/admin/customers/{customer_id:int}/pin": [],
    "/admin/customers/{customer_id:int}/unblock": [],
    "/admin/customers/{customer_id:int}/devices": ["name", "ip", "mac"],
    "/admin/customers/{customer_id:int}/devices/{device_id:int}": ["name", "ip", "mac"],
    "/admin/customers/{customer_id:int}/devices/{device_id:int}/delete": [],
    "/admin/changes/{change_id:int}/approve": [],
    "/admin/changes/{change_id:int}/reject": [],
    "/admin/changes/bulk": ["change_id", "action"],
    "/admin/helpdesk/{ticket_id:int}": ["body", "internal", "status", "queue"],
    "/admin/tariffs": ["name", "price", "down_mbit", "up_mbit", "vat"],
    "/admin/tariffs/{tariff_id:int}": ["name", "price", "down_mbit", "up_mbit", "vat"],
    "/admin/payments": ["customer_id", "amount", "date", "title"],
    "/admin/payments/unmatched/{line_id:int}/assign": ["customer_id"],
    "/admin/messages": ["subject", "body", "category", "audience", "customer_id", "tariff_id", "urgent"],
    "/admin/billing/deliveries/{delivery_id:int}/retry": [],
    "/admin/billing/reminders/{reminder_id:int}/retry": [],
    "/admin/traffic/publish": ["date"],
    "/admin/customers/{customer_id:int}/edit": ["name", "email", "phone", "street", "postal_code", "city", "nip",
                                                "mail_street", "mail_postal_code", "mail_city", "notes",
                                                "invoice_by_email", "marketing_consent"],
    "/admin/customers/{customer_id:int}/assignments": ["tariff", "start", "end", "discount_percent",
                                                       "discount_amount", "note"],
    "/admin/customers/{customer_id:int}/assignments/{assignment_id:int}/change": ["tariff", "start"],
    "/admin/customers/{customer_id:int}/assignments/{assignment_id:int}/end": ["on"],
    "/admin/customers/{customer_id:int}/charges": ["description", "amount", "vat_rate", "date", "mode"],
    "/admin/invoices/{invoice_id:int}/correct": ["reason", "quantity_1", "price_1"],
    "/admin/payments/{payment_id:int}/reverse": ["reason"],
    "/admin/payments/{payment_id:int}/move": ["customer_id", "reason"],
    "/admin/payments/unmatched/{line_id:int}/split": ["customer_id", "amount", "customer_id", "amount"],
    "/admin/payments/unmatched/{line_id:int}/ignore": ["reason"],
    "/admin/billing/run": [],
    "/admin/billing/mails/retry": [],
    "/admin/ksef/send": [],
    "/admin/ksef/{doc_id:int}/retry": [],
}
GETS = ["/finances/invoices/{id}", "/finances/invoices/{id}.xml", "/messages/{id}", "/helpdesk/{id}",
        "/admin/customers/{id}", "/admin/customers/{id}/edit", "/admin/helpdesk/{id}", "/admin/tariffs/{id}",
        "/finances/invoices/print?invoice_id={id}", "/stats?period={text}", "/admin/customers?q={text}&page={id}",
        "/helpdesk?created={id}", "/admin/payments/import?statement={id}"]
# Logging out is not an error and ends the session the corpus works with.
SKIPPED = {"/logout", "/admin/logout", "/api/traffic", "/admin/payments/import"}


def _form(route: str, values: list[str]) -> bytes:
    names = FIELDS.get(route, ["name", "body", "customer_id"])
    pairs = [(n, values[i % len(values)] if values else "") for i, n in enumerate(names)]
    return "&".join(quote_plus(k) + "=" + quote_plus(v.encode("utf-8", "surrogatepass")) for k, v in pairs).encode()


def _fill(route: str, ids: list[int]) -> str:
    out, i = route, 0
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        out = out[:start] + str(ids[i % len(ids)]) + out[end + 1:]
        i += 1
    return out


def _snapshot_sql() -> str:
    """One query that reads every table (but the journals) as text, so a snapshot costs one
    round trip on either engine; the lockout columns and entries are left out."""
    from app import db

    sqlite = db.is_sqlite()
    parts = []
    for table in APP_CONFIG.table_classes:
        name = table._meta.tablename
        if name in JOURNALS:
            continue
        cols = [c._meta.db_column_name for c in table._meta.columns
                if not (name == "customer" and c._meta.db_column_name in LOCKOUT_COLUMNS)]
        row = ("json_array(" if sqlite else "json_build_array(") + ", ".join(f'"{c}"' for c in cols) + ")"
        where = " WHERE action <> 'blocked'" if name == "audit_log" else ""
        pk = table._meta.primary_key._meta.db_column_name
        if sqlite:
            agg = f'(SELECT group_concat(r, \'|\') FROM (SELECT {row} AS r FROM "{name}"{where} ORDER BY "{pk}"))'
        else:
            agg = f'(SELECT string_agg({row}::text, \'|\' ORDER BY "{pk}") FROM "{name}"{where})'
        parts.append(f'{agg} AS "{name}"')
    return "SELECT " + ", ".join(parts)


async def _snapshot() -> dict:
    return (await Customer.raw(_snapshot_sql()))[0]


class World:
    """The data the corpus aims at: real IDs to mix with random ones, and clients that stay
    logged in (a random PIN reset or lockout may log the customer out: log in again)."""

    async def build(self, client, admin_client) -> "World":
        self.customer = await factories.customer(pin="482913")
        self.client, self.admin = client, admin_client
        self.ticket = await factories.ticket(self.customer.id)
        self.tariff = await factories.tariff()
        self.device = await factories.device(self.customer.id, "10.20.30.40")
        self.message = await factories.message(audience="customer", customer_id=self.customer.id)
        await post_form(client, "/info", {"phone": "600 100 200"})
        self.ids = [self.customer.id, self.ticket, self.tariff, self.device, self.message or 1]
        await self.relogin()
        return self

    async def relogin(self) -> None:
        if (await self.client.get("/info")).status_code == 200:
            return
        await Customer.update({Customer.pin_hash: hash_secret("482913"), Customer.blocked: False,
                               Customer.failed_logins: 0}).where(Customer.id == self.customer.id)
        from app.tables.auth import LoginAttempt

        await LoginAttempt.delete(force=True)
        response = await post_form(self.client, "/login", {"customer_id": str(self.customer.id), "pin": "482913"})
        assert response.status_code == 303


async def _check(world: World, client, method: str, url: str, body: bytes | None = None) -> None:
    before = await _snapshot()
    if method == "GET":
        response = await client.get(url)
    else:
        response = await client.post(url, content=body, headers={
            "content-type": "application/x-www-form-urlencoded", "x-csrftoken": client.cookies.get("csrftoken")})
    assert response.status_code < 500, (method, url, body[:300] if body else b"", response.text[:500])
    if response.status_code >= 400:
        assert await _snapshot() == before, f"{method} {url} answered {response.status_code} but changed rows"


ROUTES = sorted(FIELDS)
IDS = st.lists(st.one_of(EDGES, st.integers(-2**40, 2**70), st.integers(0, 5)), min_size=1, max_size=3)


@pytest.fixture
async def world(client, admin_client):
    return await World().build(client, admin_client)


@settings(max_examples=120 // SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES), values=st.lists(HOSTILE, min_size=1, max_size=6), ids=IDS,
       real=st.booleans())
async def test_every_form_survives_the_hostile_corpus(world, route, values, ids, real):
    if real:
        ids = [world.ids[i % len(world.ids)] for i in range(3)]
    client = world.admin if route.startswith("/admin") and route != "/admin/login" else world.client
    await _check(world, client, "POST", _fill(route, ids), _form(route, values))
    await world.relogin()


@settings(max_examples=60 // SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(GETS), ids=IDS, text=HOSTILE, last=HOSTILE)
async def test_every_id_in_a_path_survives_the_hostile_corpus(world, path, ids, text, last):
    # A URL is at most a few KB (httpx, like browsers and proxies, refuses longer ones).
    query = quote_plus(text.encode("utf-8", "surrogatepass"))[:4000]
    url = path.replace("{id}", str(ids[0])).replace("{text}", query)
    client = world.admin if path.startswith("/admin") else world.client
    await _check(world, client, "GET", url)


def test_the_corpus_covers_every_post_route(app):
    posts = {r.path for r in app.routes for m in getattr(r, "methods", ()) if m == "POST"}
    assert posts - SKIPPED <= set(FIELDS), posts - SKIPPED - set(FIELDS)
