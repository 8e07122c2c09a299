"""Admin section: operators' controllers under /admin."""

from app.routes.admin.auth import AdminAuthController
from app.routes.admin.customers import AdminCustomersController
from app.routes.admin.devices import AdminDevicesController
from app.routes.admin.traffic import AdminTrafficController

ADMIN_CONTROLLERS = [AdminAuthController, AdminCustomersController, AdminDevicesController,
                     AdminTrafficController]
