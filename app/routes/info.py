"""Informacje: the customer's data."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from app import customers
from app.routes._render import render
from app.routes.panel import CUSTOMER_DEPENDENCIES, panel_context
from litestar.di import NamedDependency
from litestar.params import FromPath

from app.sessions import ActiveSession


class InfoController(Controller):
    path = "/info"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_info(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        data = await customers.info_data(session.subject_id, date.today(), session.created_at)
        if data is None:
            raise NotFoundException()
        context = {**await panel_context(session), "info": data}
        return render(request, "info/page.html", context, fragment="info/_data.html")
