"""Helpdesk live stream over real HTTP: an operator's answer reaches the customer's open SSE
stream (one server on SQLite; two server processes on PostgreSQL), internal notes never do."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time

import httpx
import pytest
from bs4 import BeautifulSoup

from tests import factories
from tests.conftest import run_sync as run, start_server


def _login(base: str, path: str, data: dict) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10, follow_redirects=False)
    client.get(path)
    response = client.post(path, data={**data, "_csrf_token": client.cookies["csrftoken"]})
    assert response.status_code == 303, response.text
    return client


def customer_session(base: str, customer) -> httpx.Client:
    return _login(base, "/login", {"customer_id": str(customer.id), "pin": customer.pin})


def operator_session(base: str, operator) -> httpx.Client:
    return _login(base, "/admin/login", {"username": operator.username, "password": operator.password})


class Listener:
    """Reads an SSE stream on its own event loop in a thread and hands over parsed events;
    close() cancels the read, which hangs up the connection as a closed tab does."""

    def __init__(self, client: httpx.Client, url: str, headers: dict | None = None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.lines: list[str] = []
        self.status = 0
        self.content_type = ""
        self._base, self._cookies = str(client.base_url), dict(client.cookies)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(url, headers or {}),), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the stream did not open"

    async def _main(self, url: str, headers: dict) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            async with httpx.AsyncClient(base_url=self._base, cookies=self._cookies,
                                         timeout=httpx.Timeout(10, read=60)) as client:
                async with client.stream("GET", url, headers={"Accept": "text/event-stream", **headers}) as response:
                    self.status = response.status_code
                    self.content_type = response.headers.get("content-type", "")
                    await self._read(response)
        except (asyncio.CancelledError, httpx.HTTPError):
            pass
        finally:
            self._ready.set()

    async def _read(self, response: httpx.Response) -> None:
        event: dict = {"data": []}
        async for line in response.aiter_lines():
            self.lines.append(line)
            if line.startswith(": ok"):
                self._ready.set()
            if line == "":
                if event["data"] or "id" in event:
                    self.events.put({**event, "data": "\n".join(event["data"])})
                event = {"data": []}
            elif line.startswith("data:"):
                event["data"].append(line[6:] if line.startswith("data: ") else line[5:])
            elif line.startswith("id:"):
                event["id"] = line[3:].strip()

    def next(self, seconds: float) -> dict:
        return self.events.get(timeout=seconds)

    def close(self) -> None:
        if self._loop and self._task and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(5)


def _status_of(event: dict) -> str:
    """The status label an SSE event swaps in out of band (it carries nothing else)."""
    html = BeautifulSoup(event["data"], "html.parser")
    label = html.select_one("span#ticket-status[hx-swap-oob]")
    assert label is not None and not html.select("li.msg"), event["data"]
    return label.get_text()


def _answer(staff: httpx.Client, ticket_id: int, **data) -> None:
    response = staff.post(f"/admin/helpdesk/{ticket_id}", data={**data, "_csrf_token": staff.cookies["csrftoken"]})
    assert response.status_code == 303, response.text


def _assert_live_reply(customer_base: str, operator_base: str) -> None:
    customer = run(factories.customer())
    operator = run(factories.operator())
    ticket_id = run(factories.ticket(customer.id, body="Brak Internetu w dniu 23.11.2026 od 18:00 do 20:30"))
    shopper, staff = customer_session(customer_base, customer), operator_session(operator_base, operator)
    first = BeautifulSoup(shopper.get(f"/helpdesk/{ticket_id}").text, "html.parser").select_one(".msg")["id"]
    after = first.removeprefix("msg-")
    listener = Listener(shopper, f"/helpdesk/{ticket_id}/events?after={after}")
    assert listener.status == 200 and listener.content_type.startswith("text/event-stream")
    assert _status_of(listener.next(2.0)) == "nowe"  # a connection first says the status now

    _answer(staff, ticket_id, body="TAJNA notatka <i>x</i>", internal="on")
    started = time.monotonic()
    _answer(staff, ticket_id, body='Proszę o restart <script>alert(1)</script>\nrutera.', status="todo")
    event = listener.next(2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    item = BeautifulSoup(event["data"], "html.parser").select_one("li.msg")
    assert "msg-operator" in item["class"] and item.select("script") == []
    assert item.select_one(".msg-body").get_text() == "Proszę o restart <script>alert(1)</script>\nrutera."
    assert event["id"] == item["id"].removeprefix("msg-")
    assert _status_of(listener.next(2.0)) == "do zrealizowania"
    assert "TAJNA" not in "\n".join(listener.lines)
    listener.close()
    shopper.close()
    staff.close()


def test_operator_reply_reaches_open_stream(live_server):
    _assert_live_reply(live_server, live_server)


def test_stream_resumes_from_last_event_id_and_hides_foreign(live_server):
    customer, other = run(factories.customer()), run(factories.customer())
    operator = run(factories.operator())
    mine = run(factories.ticket(customer.id))
    theirs = run(factories.ticket(other.id))
    staff = operator_session(live_server, operator)
    _answer(staff, mine, body="Pierwsza odpowiedź")
    _answer(staff, mine, body="Druga odpowiedź")
    shopper = customer_session(live_server, customer)
    assert shopper.get(f"/helpdesk/{theirs}/events").status_code == 404
    # A reconnect sends Last-Event-ID: only what came after it is sent again.
    first_id = run(_message_ids(mine))[1]
    listener = Listener(shopper, f"/helpdesk/{mine}/events", headers={"Last-Event-ID": str(first_id)})
    event = listener.next(2.0)
    assert BeautifulSoup(event["data"], "html.parser").select_one(".msg-body").get_text() == "Druga odpowiedź"
    assert _status_of(listener.next(2.0)) == "nowe"
    with pytest.raises(queue.Empty):
        listener.next(0.5)
    listener.close()


async def _message_ids(ticket_id: int) -> list[int]:
    from app.tables.helpdesk import TicketMessage

    rows = await TicketMessage.select(TicketMessage.id).where(TicketMessage.ticket == ticket_id).order_by(
        TicketMessage.id)
    return [r["id"] for r in rows]


@pytest.mark.skipif(os.environ.get("WBOK_TEST_DB", "sqlite") != "postgres",
                    reason="two processes share live updates through PostgreSQL LISTEN/NOTIFY")
def test_two_processes_on_postgres(_smtp_server):
    """The operator answers through process A; the customer's stream is open on process B."""
    proc_a, url_a = start_server({"WBOK_SMTP_URL": _smtp_server.url})
    proc_b, url_b = start_server({"WBOK_SMTP_URL": _smtp_server.url})
    try:
        assert proc_a.pid != proc_b.pid and url_a != url_b
        _assert_live_reply(customer_base=url_b, operator_base=url_a)
    finally:
        for proc in (proc_a, proc_b):
            proc.terminate()
            proc.wait(10)


def test_stream_opened_as_another_closes_still_hears(live_server):
    """A tab closing while another opens (same customer) must not leave the new stream deaf."""
    customer, operator = run(factories.customer()), run(factories.operator())
    ticket_id = run(factories.ticket(customer.id))
    shopper, staff = customer_session(live_server, customer), operator_session(live_server, operator)
    last = run(_message_ids(ticket_id))[-1]
    for _ in range(5):
        old = Listener(shopper, f"/helpdesk/{ticket_id}/events?after={last}")
        old.close()
    fresh = Listener(shopper, f"/helpdesk/{ticket_id}/events?after={last}")
    assert _status_of(fresh.next(2.0)) == "nowe"
    _answer(staff, ticket_id, body="Słychać?")
    assert "Słychać?" in fresh.next(2.0)["data"]
    fresh.close()


def test_admin_queue_stream_shows_new_ticket(live_server):
    customer, operator = run(factories.customer()), run(factories.operator())
    shopper, staff = customer_session(live_server, customer), operator_session(live_server, operator)
    queue_listener = Listener(staff, "/admin/helpdesk/events?queue=billing")
    first = BeautifulSoup(queue_listener.next(2.0)["data"], "html.parser")
    assert first.select("tbody tr") == []
    page = BeautifulSoup(shopper.get("/helpdesk").text, "html.parser")
    token = page.select_one("input[name=token]")["value"]
    for queue, subject in (("technical", "Inny dział"), ("billing", "Faktura <i>12</i>")):
        response = shopper.post("/helpdesk", data={"subject": subject, "body": "Treść", "queue": queue,
                                                   "token": token + queue,
                                                   "_csrf_token": shopper.cookies["csrftoken"]})
        assert response.status_code == 303
    deadline = time.monotonic() + 2.0
    subjects: list[str] = []
    while "Faktura <i>12</i>" not in subjects:
        table = BeautifulSoup(queue_listener.next(max(deadline - time.monotonic(), 0.01))["data"], "html.parser")
        subjects = [s.get_text() for s in table.select(".subject")]
    assert subjects == ["Faktura <i>12</i>"]
    queue_listener.close()


def test_status_follows_live_on_both_sides(live_server):
    """A resolved ticket reads "rozwiązane" in the customer's open thread, without a message;
    the customer's reply reopens it and the operator's open page gets the label and the
    select set to "do zrealizowania" (not "rozwiązane" preselected)."""
    customer, operator = run(factories.customer()), run(factories.operator())
    ticket_id = run(factories.ticket(customer.id))
    shopper, staff = customer_session(live_server, customer), operator_session(live_server, operator)
    last = run(_message_ids(ticket_id))[-1]
    mine = Listener(shopper, f"/helpdesk/{ticket_id}/events?after={last}")
    ops = Listener(staff, f"/admin/helpdesk/{ticket_id}/events?after={last}")
    assert _status_of(mine.next(2.0)) == "nowe"
    ops.next(2.0)
    _answer(staff, ticket_id, status="resolved")
    assert _status_of(mine.next(2.0)) == "rozwiązane"
    assert "rozwiązane" in ops.next(2.0)["data"]
    response = shopper.post(f"/helpdesk/{ticket_id}", data={"body": "Znowu nie działa.",
                                                             "_csrf_token": shopper.cookies["csrftoken"]})
    assert response.status_code == 303
    message = ops.next(2.0)
    assert "Znowu nie działa." in message["data"]
    html = BeautifulSoup(ops.next(2.0)["data"], "html.parser")
    assert html.select_one("#ticket-status[hx-swap-oob]").get_text() == "do zrealizowania"
    assert html.select_one("select#a-status[hx-swap-oob] option[selected]")["value"] == "todo"
    page = BeautifulSoup(staff.get(f"/admin/helpdesk/{ticket_id}").text, "html.parser")
    assert page.select_one("#ticket-status").get_text() == "do zrealizowania"
    assert page.select_one("select#a-status option[selected]")["value"] == "todo"
    for listener in (mine, ops):
        listener.close()
