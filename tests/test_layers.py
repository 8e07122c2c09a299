"""The house's layers: web plumbing stays in app/routes/ (plus main.py and cli.py)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
WEB_SIDE = {"main.py", "cli.py"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _domain_modules() -> list[Path]:
    modules = [p for p in APP.rglob("*.py") if "routes" not in p.relative_to(APP).parts
               and str(p.relative_to(APP)) not in WEB_SIDE]
    assert len(modules) > 30 and APP / "billing.py" in modules
    return modules


def test_no_domain_module_imports_litestar():
    offenders = {str(p.relative_to(APP)): sorted(n for n in _imports(p) if n.split(".")[0] == "litestar")
                 for p in _domain_modules()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_domain_module_imports_the_routes():
    offenders = {str(p.relative_to(APP)): sorted(n for n in _imports(p) if n.startswith("app.routes"))
                 for p in _domain_modules()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_walk_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from litestar.response import Redirect\n    import litestar\n")
    assert {"litestar", "litestar.response", "litestar.response.Redirect"} <= _imports(probe)


def test_every_template_named_in_code_or_templates_exists():
    """A renamed template (admin/traffic.html -> admin/traffic/page.html) leaves no stale name."""
    import re

    partials = APP / "partials"
    named: set[str] = set()
    for p in APP.rglob("*.py"):
        named |= set(re.findall(r'"((?:[a-z_]+/)*_?[a-z_]+\.html)"', p.read_text(encoding="utf-8")))
    for p in partials.rglob("*.html"):
        named |= set(re.findall(r'{%\s*(?:include|extends|import|from)\s+"([^"]+)"', p.read_text(encoding="utf-8")))
    assert len(named) > 40
    # PDF templates resolve inside partials/pdf (see app/pdf.py).
    missing = sorted(n for n in named if not (partials / n).exists() and not (partials / "pdf" / n).exists())
    assert missing == []


def test_readme_lists_every_admin_url_with_its_file():
    """The README's "What is where" names each admin route and the one file serving it."""
    import inspect
    import re

    from app.main import create_app

    readme = (APP.parent / "README.md").read_text(encoding="utf-8")
    listed: dict[str, set[str]] = {}
    for row in re.findall(r"^\| (`/admin[^|]*) \| [^|]* \| `([^`]+)` \|", readme, re.M):
        for url in re.findall(r"`([^`]+)`", row[0]):
            listed.setdefault(re.sub(r"\{[a-z_]+\}", "{}", url), set()).add(row[1])
    served: dict[str, set[str]] = {}
    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", []):
            module = inspect.getmodule(handler.fn).__name__
            if route.path.startswith("/admin") and module.startswith("app."):
                path = re.sub(r"\{[a-z_]+:int\}", "{}", route.path)
                served.setdefault(path, set()).add(module.replace(".", "/") + ".py")
    assert len(served) > 20
    assert listed == served
