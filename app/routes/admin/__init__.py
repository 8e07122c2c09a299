"""Admin section: operators' controllers under /admin."""

from app.routes.admin.auth import AdminAuthController
from app.routes.admin.billing import AdminBillingController, AdminPaymentsImportController
from app.routes.admin.customers import AdminCustomersController
from app.routes.admin.finances import AdminFinancesController, AdminTariffsController

ADMIN_CONTROLLERS = [AdminAuthController, AdminCustomersController, AdminFinancesController,
                     AdminTariffsController, AdminBillingController, AdminPaymentsImportController]
