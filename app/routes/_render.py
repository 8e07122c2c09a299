"""Page or fragment: the ONLY module that looks at the HX-* request headers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Response, Template

VARY = "HX-Request, HX-Request-Type, HX-History-Restore-Request"


def wants_fragment(request: Request) -> bool:
    """True for an htmx partial request; boosted and history-restore requests get pages."""
    h = request.headers
    return (
        h.get("hx-request") == "true"
        and h.get("hx-request-type", "partial") == "partial"
        and h.get("hx-history-restore-request") != "true"
    )


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    fragment: str | None = None,
    status_code: int = 200,
) -> Template:
    """The whole page to a plain request, only `fragment` to an htmx partial one.
    Both bodies come from the same `context`, so they never disagree."""
    name = fragment if fragment and wants_fragment(request) else page
    return Template(template_name=name, context=context, status_code=status_code,
                    headers={"Vary": VARY})


def redirect_after_post(request: Request, path: str) -> Redirect:
    """Post-redirect-get; htmx follows the 303 itself and swaps what the GET returns."""
    return Redirect(path=path, status_code=303)


def client_redirect(request: Request, path: str) -> Response:
    """Leave the panel (login required, logout). fetch() follows a 303 silently, so an
    htmx request gets HX-Redirect instead and the browser loads the whole page."""
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=200, headers={"HX-Redirect": path, "Vary": VARY})
    return Redirect(path=path, status_code=303)
