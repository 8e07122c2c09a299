"""Hardening, unit level: the client IP behind proxies, the secret key, and what serve runs."""

from __future__ import annotations

import pytest

from app.routes._session import forwarded_client
from app.settings import parse_networks, settings_from_env

pytestmark = pytest.mark.anyio
PROXIES = parse_networks("127.0.0.1, 10.9.0.0/16 ::1")


@pytest.mark.parametrize("peer, xff, client", [
    ("203.0.113.5", ["1.2.3.4"], "203.0.113.5"),  # an untrusted peer: its header is ignored
    ("127.0.0.1", [], "127.0.0.1"),
    ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
    ("127.0.0.1", ["6.6.6.6, 198.51.100.7, 10.9.1.2"], "198.51.100.7"),  # the last untrusted hop
    ("127.0.0.1", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),  # several headers, one list
    ("127.0.0.1", ["garbage"], "127.0.0.1"),
    ("::1", ["2001:db8::1"], "2001:db8::1"),
    ("testclient", ["1.2.3.4"], "testclient"),
])
def test_the_client_ip_is_the_last_untrusted_hop(peer, xff, client):
    assert forwarded_client(peer, xff, PROXIES) == client


def test_no_proxy_is_trusted_by_default():
    assert settings_from_env({}).trusted_proxies == ()
    assert forwarded_client("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"


def test_no_secret_key_is_derived_in_code():
    keys = {settings_from_env({}).secret_key for _ in range(3)}
    assert len(keys) == 3 and all(len(k) == 64 for k in keys), "random, not derived"
    assert settings_from_env({"WBOK_SECRET_KEY": "mine"}).secret_key == "mine"


async def test_the_kept_key_is_made_once():
    from app import secret

    first = await secret.kept_secret_key()
    assert await secret.kept_secret_key() == first and len(first) == 64


def test_serve_leaves_forwarded_headers_to_the_app(monkeypatch):
    import argparse
    import sys
    import types

    from app import cli

    seen = {}
    monkeypatch.setitem(sys.modules, "uvicorn", types.SimpleNamespace(run=lambda *a, **k: seen.update(k)))
    monkeypatch.setattr(cli, "_migrate", lambda: _noop())
    monkeypatch.setattr(cli, "_keep_secret_key", lambda: "secret key: test")
    cli.cmd_serve(argparse.Namespace(demo=False, host="127.0.0.1", port=1, customers=0, workers=1))
    assert seen["proxy_headers"] is False


async def _noop():
    return None
