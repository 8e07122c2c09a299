"""PDF: Jinja2 templates from partials/pdf/ turned into PDF bytes by xhtml2pdf."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import jinja2
from anyio import to_thread
from pypdf import PdfReader, PdfWriter
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from app.money import format_money
from app.transfer import customer_ref, format_nrb

TEMPLATES = Path(__file__).resolve().parent / "partials" / "pdf"
FONTS = Path(__file__).resolve().parent / "fonts"

# Local reads only from the fonts folder, nothing over the network; images come
# inline as data: URIs. Without FONTS here xhtml2pdf refuses the font files quietly
# and draws Helvetica, which has no ąćęłńśźż.
POLICY = ResourceAccessPolicy.server(base_dir=FONTS, allow_remote=False)

# Renders hold xhtml2pdf's process-wide lock, so more threads would only queue.
_THREADS = anyio.CapacityLimiter(2)

_NO_GLYPH = "No font this document has can draw"


class PdfError(RuntimeError):
    """xhtml2pdf reported an error or a warning (a missing font, image or markup)."""


def _date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _qr_src(payload: str) -> str:
    """A QR code of `payload` as a PNG data URI, for an <img> in a PDF."""
    import base64

    from app.transfer import qr_png

    return "data:image/png;base64," + base64.b64encode(qr_png(payload)).decode("ascii")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(money=format_money, date=_date, nrb=format_nrb, customer_ref=customer_ref,
                       qr_src=_qr_src)
    env.globals.update(
        font_regular=(FONTS / "DejaVuSans.ttf").as_posix(),
        font_bold=(FONTS / "DejaVuSans-Bold.ttf").as_posix(),
    )
    return env


ENV = _environment()


def render_html(template_name: str, context: dict[str, Any]) -> str:
    return ENV.get_template(template_name).render(context)


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """PDF bytes of one template. CPU-bound (tens of ms): call it off the event loop."""
    out = io.BytesIO()
    status = pisa.CreatePDF(
        render_html(template_name, context),
        dest=out,
        encoding="utf-8",
        resource_policy=POLICY,
    )
    _raise_on_trouble(status, template_name)
    return out.getvalue()


def _raise_on_trouble(status: Any, template_name: str) -> None:
    # Clean templates render with no warnings; a warning means a font, an image or
    # some markup was dropped silently, which on an invoice is a broken document.
    # A glyph DejaVu lacks (an emoji in a name) comes from data: print a box, not a 500.
    log = [(mode, msg) for mode, _, msg, _ in status.log if not msg.startswith(_NO_GLYPH)]
    problems = [f"{mode}: {msg}" for mode, msg in log]
    if status.err or problems:
        raise PdfError(f"{template_name}: {'; '.join(problems) or 'xhtml2pdf failed'}")


def merge_pdfs(parts: list[bytes]) -> bytes:
    """One PDF with all pages of `parts`, in order."""
    if not parts:
        raise ValueError("nothing to merge")
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def in_thread(func: Callable[..., bytes], *args: Any) -> bytes:
    """Run a PDF-making function in a worker thread; the event loop keeps serving."""
    return await to_thread.run_sync(func, *args, limiter=_THREADS)


async def render_pdf_async(template_name: str, context: dict[str, Any]) -> bytes:
    return await in_thread(render_pdf, template_name, context)
