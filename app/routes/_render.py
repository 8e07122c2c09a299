"""Page or fragment — routes: the ONLY module that looks at the HX-* request headers."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect, Response, Template

from app.i18n import _

VARY = "HX-Request, HX-Request-Type, HX-History-Restore-Request, HX-Target"
FRAGMENT = "_fragment.html"  # a fragment alone, with its page's title


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
    context: Mapping[str, Any],
    fragment: str | None = None,
    status_code: int = 200,
    parts: Mapping[str, str] | None = None,
) -> Template:
    """The whole page to a plain request, only `fragment` to an htmx partial one.
    Both bodies come from the same `context`, so they never disagree; the template sees
    `partial` (true when the fragment goes out alone, e.g. to add out-of-band swaps).
    `parts` maps an element id inside the fragment to a smaller fragment for requests that
    target only that element (a search box refreshing its list, not the whole area)."""
    partial = bool(fragment) and wants_fragment(request)
    name, extra = page, {}
    if partial:
        target = request.headers.get("hx-target", "").partition("#")[2]
        # The fragment goes out behind the page's <title>, which htmx puts in document.title.
        name, extra = FRAGMENT, {"fragment_template": (parts or {}).get(target, fragment), "page_template": page}
    return Template(template_name=name, context={**context, **extra, "partial": partial},
                    status_code=status_code, headers={"Vary": VARY})


Context = Mapping[str, Any] | Callable[[], Awaitable[Mapping[str, Any]]]


def see_other(path: str, cookies: list[Cookie] | None = None) -> Redirect:
    """A 303 to `path`: the answer to a plain-form POST (post-redirect-get)."""
    return Redirect(path=path, status_code=303, cookies=cookies or [], headers={"Vary": VARY})


async def after_post(request: Request, path: str, fragment: str | None = None,
                     context: Context | None = None, cookies: list[Cookie] | None = None) -> Response:
    """After a successful POST: to an htmx partial request the updated `fragment`, to any
    other a 303 to `path`, whose GET renders the same data. `context` may be a function
    returning an awaitable, so a plain request never builds a context it does not use."""
    if fragment is None or context is None or not wants_fragment(request):
        return see_other(path, cookies)
    data = await context() if callable(context) else context
    response = render(request, fragment, dict(data))
    response.cookies.extend(cookies or [])
    return response


def notice(request: Request, notices: Mapping[str, str]) -> str:
    """The translated notice a redirect asked for with `?m=<key>`; "" for none or an unknown key."""
    key = request.query_params.get("m", "")
    return _(notices[key]) if key in notices else ""


def client_redirect(request: Request, path: str) -> Response:
    """Leave the panel (login required, logout). fetch() follows a 303 silently, so an
    htmx request gets HX-Redirect instead and the browser loads the whole page."""
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=200, headers={"HX-Redirect": path, "Vary": VARY})
    return see_other(path)
