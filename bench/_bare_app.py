"""The baseline of bench/fragment_latency.py: a bare Litestar app that renders a Jinja template
of a given size (`/?bytes=N`), with the same compression and security-header settings as WBOK,
and nothing else (no database, no session). Run by the bench with uvicorn --factory."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, get
from litestar.config.compression import CompressionConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

ROW = 96  # bytes one row of bare.html renders to, roughly


@get("/")
async def page(bytes: int = 4000) -> Template:  # noqa: A002 - the query parameter's name
    rows = [{"n": i, "text": "Faktura VAT FV/2026/11/0042 – abonament Światłowód 600"} for i in range(max(1, bytes // ROW))]
    return Template("bare.html", context={"rows": rows})


def create_app() -> Litestar:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "partials"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    return Litestar(route_handlers=[page],
                    template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
                    compression_config=CompressionConfig(backend="brotli", brotli_gzip_fallback=True,
                                                         minimum_size=256, brotli_quality=5),
                    openapi_config=None, debug=False)
