"""Admin — routes: the operators' controllers under /admin, one file per area."""

from app.routes.admin.auth import AdminAuthController
from app.routes.admin.billing import AdminBillingController
from app.routes.admin.changes import AdminChangesController
from app.routes.admin.contracts import AdminContractsController
from app.routes.admin.customers import AdminCustomersController
from app.routes.admin.dashboard import AdminDashboardController
from app.routes.admin.debtors import AdminDebtorsController
from app.routes.admin.devices import AdminDevicesController
from app.routes.admin.finances import AdminFinancesController
from app.routes.admin.helpdesk import AdminHelpdeskController
from app.routes.admin.ksef import AdminKsefController
from app.routes.admin.invoices import AdminInvoicesController
from app.routes.admin.messages import AdminMessagesController
from app.routes.admin.payments import AdminPaymentsController
from app.routes.admin.tariffs import AdminTariffsController
from app.routes.admin.traffic import AdminTrafficController

ADMIN_CONTROLLERS = [AdminAuthController, AdminDashboardController, AdminCustomersController,
                     AdminDevicesController, AdminContractsController, AdminChangesController, AdminHelpdeskController,
                     AdminFinancesController, AdminTariffsController, AdminBillingController,
                     AdminPaymentsController, AdminMessagesController, AdminTrafficController,
                     AdminKsefController]
ADMIN_CONTROLLERS += [AdminInvoicesController, AdminDebtorsController]
