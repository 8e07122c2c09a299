"""Admin section: operators' controllers under /admin."""

from app.routes.admin.auth import AdminAuthController
from app.routes.admin.billing import AdminBillingController, AdminPaymentsImportController
from app.routes.admin.customers import AdminCustomersController

ADMIN_CONTROLLERS = [AdminAuthController, AdminCustomersController, AdminBillingController,
                     AdminPaymentsImportController]
