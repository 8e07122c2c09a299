"""WBOK: Wirtualne Biuro Obsługi Klienta, the ISP customer's self-service panel."""

import os

# Piccolo finds its engine through this module; set before any table is imported.
os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
