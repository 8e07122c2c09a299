"""Page weight: compressed bytes of /login on a first visit and of the first panel page,
each with every subresource (CSS, JS), as a browser sending `Accept-Encoding: br, gzip` gets
them. Budgets (DESIGN.md): /login ≤ 14 KB, first panel page ≤ 35 KB, a tab fragment ≤ 4 KB.

    python bench/page_weight.py
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import parse_login, server, wbok  # noqa: E402

BUDGETS = {"/login": 14_000, "panel": 35_000, "fragment": 4_000}
TABS = ["/info", "/finances", "/messages", "/stats", "/helpdesk"]


class Session:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple:
        """Status, raw (still compressed) body, decoded HTML text and headers."""
        request = urllib.request.Request(self.base + path, headers={"Accept-Encoding": "br, gzip", **(headers or {})})
        try:
            response = self.opener.open(request)
        except urllib.error.HTTPError as exc:
            response = exc
        raw = response.read()
        return response.status, raw, _decode(raw, response.headers.get("Content-Encoding")), response.headers

    def post(self, path: str, data: dict[str, str]) -> int:
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "_csrf_token": token}).encode()
        request = urllib.request.Request(self.base + path, data=body)
        try:
            return self.opener.open(request).status
        except urllib.error.HTTPError as exc:
            return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding == "br":
        import brotli

        raw = brotli.decompress(raw)
    elif encoding == "gzip":
        import gzip

        raw = gzip.decompress(raw)
    return raw.decode("utf-8", "replace")


def subresources(html: str) -> list[str]:
    return re.findall(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"', html)


def weigh(session: Session, path: str) -> tuple[int, list[tuple[str, int]]]:
    status, raw, html, _ = session.get(path)
    assert status == 200, (path, status)
    parts = [(path, len(raw))]
    for url in subresources(html):
        parts.append((url, len(session.get(url)[1])))
    return sum(size for _, size in parts), parts


def main() -> int:
    holder: dict[str, str] = {}

    def setup(env):
        holder["line"] = wbok(env, "demo", "--customers", "3").splitlines()[0]

    ok = True
    with server(setup) as (url, _):
        session = Session(url)
        total, parts = weigh(session, "/login")
        ok &= _report("/login, first visit", total, parts, BUDGETS["/login"])
        cid, pin = parse_login(holder["line"])
        assert session.post("/login", {"customer_id": cid, "pin": pin}) == 303
        total, parts = weigh(session, "/info")
        ok &= _report("first panel page /info (htmx included, nothing cached)", total, parts, BUDGETS["panel"])
        print("tab fragments (HX-Request: true, HX-Request-Type: partial):")
        for tab in TABS:
            status, raw, _, headers = session.get(tab, {"HX-Request": "true", "HX-Request-Type": "partial"})
            if status != 200:
                print(f"  {tab:<10} not served ({status})")
                continue
            within = len(raw) <= BUDGETS["fragment"]
            ok &= within
            print(f"  {tab:<10} {len(raw):>6} B {headers.get('Content-Encoding', 'identity'):<8}"
                  f" {'ok' if within else 'OVER BUDGET'} (≤ {BUDGETS['fragment']} B)")
        _, _, _, headers = session.get(subresources(session.get('/info')[2])[0])
        print(f"static Cache-Control: {headers.get('Cache-Control')}")
    return 0 if ok else 1


def _report(label: str, total: int, parts: list[tuple[str, int]], budget: int) -> bool:
    print(f"{label}: {total} B compressed ({'ok' if total <= budget else 'OVER BUDGET'}, budget {budget} B)")
    for url, size in parts:
        print(f"  {size:>6} B  {url}")
    return total <= budget


if __name__ == "__main__":
    sys.exit(main())
