"""Klienci: one search box finds a customer by every key, Polish letters folded, on both engines."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app import changes, search
from app.tables.customers import Customer
from tests import factories

pytestmark = pytest.mark.anyio


def test_fold_removes_case_and_polish_marks():
    assert search.fold("ŁĘCKI  Wójcik") == "lecki wojcik"
    assert search.fold("Źródlana Żółć Ąę Ńś") == "zrodlana zolc ae ns"
    assert search.fold("łęcki") == search.fold("Lecki") == "lecki"


async def _people():
    lecki = await factories.customer("Jan Łęcki", street="ul. Źródlana 5", city="Końskie",
                                     phone="600 100 200", email="jan.lecki@example.pl", nip="5260250274")
    wojcik = await factories.customer("Anna WÓJCIK", street="ul. Polna 12", city="Żarnów",
                                      phone="+48 601 222 333", email="anna@wojcik.pl")
    other = await factories.customer("Piotr Nowak", street="ul. Leśna 1", city="Radom", email="p@example.pl")
    return lecki, wojcik, other


async def _found(q: str) -> set[int]:
    return {r["id"] for r in (await search.search(q)).rows}


@pytest.mark.parametrize("q", ["lecki", "Łęcki", "ŁĘCKI", "Lecki", "jan łęc", "zrodlana", "ŹRÓDLANA 5", "końskie"])
async def test_name_street_and_city_ignore_case_and_diacritics(q):
    lecki, _, _ = await _people()
    assert await _found(q) == {lecki.id}


@pytest.mark.parametrize("q", ["WÓJCIK", "wojcik", "Wójcik", "zarnow", "Polna"])
async def test_upper_case_polish_letters(q):
    _, wojcik, _ = await _people()
    assert await _found(q) == {wojcik.id}


async def test_each_kind_of_key():
    lecki, wojcik, other = await _people()
    await factories.device(lecki.id, "10.1.2.3", mac="00:1a:2b:3c:4d:5e")
    invoice = await factories.invoice(other.id, date(2026, 11, 1))
    assert await _found(str(wojcik.id)) == {wojcik.id}
    assert await _found(f"{wojcik.id:06d}") == {wojcik.id}
    for phone in ("600100200", "600 100 200", "+48 600 100 200", "+48600100200"):
        assert await _found(phone) == {lecki.id}, phone
    assert await _found("601-222-333") == {wojcik.id}
    assert await _found("anna@wojcik.pl") == {wojcik.id}
    assert await _found("JAN.LECKI@example") == {lecki.id}
    assert await _found("5260250274") == {lecki.id}
    assert await _found("10.1.2.3") == {lecki.id}
    assert await _found("00:1A:2B:3C:4D:5E") == {lecki.id}
    assert await _found("001a2b3c4d5e") == {lecki.id}
    assert await _found(invoice.number) == {other.id}
    assert await _found("nikogo takiego") == set()


async def test_an_approved_change_and_an_edit_refresh_the_search_column():
    lecki, _, _ = await _people()
    operator = await factories.operator()
    now = datetime.now(timezone.utc)
    await changes.submit(lecki.id, {"mail_street": "ul. Ściegiennego 3", "mail_postal_code": "25-001",
                                    "mail_city": "Kielce"}, now)
    assert await _found("sciegiennego") == set()
    pending = await changes.pending_for(lecki.id)
    await changes.decide([r["id"] for r in pending.values()], True, operator.id, now)
    assert await _found("sciegiennego") == {lecki.id}


async def test_rows_without_the_column_are_filled_after_migrating():
    lecki, _, _ = await _people()
    await Customer.update({Customer.search_text: ""}).where(Customer.id == lecki.id)
    assert await _found("lecki") == set()
    assert await search.refresh_missing() == 1
    assert await _found("lecki") == {lecki.id}


async def test_pages_and_count_of_a_common_word():
    for i in range(30):
        await factories.customer(f"Klient Końskie {i}", city="Końskie")
    first = await search.search("KONSKIE")
    assert (first.total, first.pages, len(first.rows)) == (30, 2, 25)
    second = await search.search("konskie", page=2)
    assert len(second.rows) == 5 and {r["id"] for r in second.rows}.isdisjoint({r["id"] for r in first.rows})
    assert (await search.search("konskie", page=99)).page == 2
