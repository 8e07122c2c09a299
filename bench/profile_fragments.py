"""Profile the tab fragments in-process with pyinstrument (issue 18): a demo database, one
logged-in customer, N sequential fragment requests per tab through the ASGI app.

    python bench/profile_fragments.py [--paths /finances] [--requests 200] [--html out.html]

Needs `pip install pyinstrument` (a bench tool, not a dependency of the app)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import bench_env, parse_login, wbok  # noqa: E402

PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}


async def run(paths: list[str], n: int, login: tuple[str, str], html: str | None, logins: int) -> None:
    import logging

    import httpx
    from pyinstrument import Profiler

    from app import db
    from app.main import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)
    await db.start_pool(10)  # what the lifespan does; ASGITransport runs none
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/login")
        await client.post("/login", data={"customer_id": login[0], "pin": login[1],
                                          "_csrf_token": client.cookies["csrftoken"]})
        for path in paths:
            assert (await client.get(path, headers=PARTIAL)).status_code == 200
            profiler = Profiler(interval=0.0002, async_mode="enabled")
            profiler.start()
            for _ in range(n):
                await client.get(path, headers=PARTIAL)
            profiler.stop()
            print(f"===== {path}: {n} fragment requests =====")
            print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=True)
                  if hasattr(profiler, "output_text") else "")
            if html:
                Path(html.replace(".html", path.replace("/", "_") + ".html")).write_text(profiler.output_html())
    await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paths", default="/info,/finances,/messages,/stats,/helpdesk")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--html")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wbok-prof-") as tmp:
        env = bench_env(tmp)
        wbok(env, "migrate")
        lines = wbok(env, "demo", "--customers", "5").splitlines()
        os.environ.update(env)
        asyncio.run(run(args.paths.split(","), args.requests, parse_login(lines[0]), args.html, 0))


if __name__ == "__main__":
    main()
