"""Admin section: operators' controllers under /admin."""

from app.routes.admin.auth import AdminAuthController
from app.routes.admin.customers import AdminCustomersController
from app.routes.admin.helpdesk import AdminHelpdeskController

ADMIN_CONTROLLERS = [AdminAuthController, AdminCustomersController, AdminHelpdeskController]
