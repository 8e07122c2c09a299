"""Screenshots of panel pages at 360 px and 1280 px, into screens/ (git-ignored).

    python scripts/screenshots.py /login /info /finances      (customer pages)
    python scripts/screenshots.py --admin /admin/customers    (operator pages)

A throwaway server with `wbok demo` data; Debian's Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from _server import parse_login, server, wbok  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--admin", action="store_true")
    parser.add_argument("--customer", type=int, default=0, help="which demo login (index)")
    args = parser.parse_args()
    out = ROOT / "screens"
    out.mkdir(exist_ok=True)
    logins: list[str] = []
    with server(lambda env: logins.extend(wbok(env, "demo", "--customers", "12").splitlines())) as (url, _):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for width in (360, 1280):
                page = browser.new_page(base_url=url, viewport={"width": width, "height": 800})
                if args.admin:
                    user, password = next(x for x in logins if x.startswith("operator")).split()[1::2]
                    page.goto("/admin/login")
                    page.fill("input[name=username]", user)
                    page.fill("input[name=password]", password)
                    page.click("button[type=submit]")
                elif any(p != "/login" for p in args.paths):
                    cid, pin = parse_login([x for x in logins if x.startswith("customer")][args.customer])
                    page.goto("/login")
                    page.fill("input[name=customer_id]", cid)
                    page.fill("input[name=pin]", pin)
                    page.click("button[type=submit]")
                    page.wait_for_url("**/info")
                for path in args.paths:
                    page.goto(path)
                    name = path.strip("/").replace("/", "_").replace("?", "_") or "root"
                    target = out / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(target)
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
