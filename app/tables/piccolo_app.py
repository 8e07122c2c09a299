"""Piccolo app: every WBOK table and the migrations folder."""

import os

from piccolo.conf.apps import AppConfig, table_finder

HERE = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="wbok",
    migrations_folder_path=os.path.join(HERE, "piccolo_migrations"),
    table_classes=table_finder(
        modules=["app.tables.customers", "app.tables.tariffs", "app.tables.auth", "app.tables.jobs",
                 "app.tables.finances", "app.tables.billing", "app.tables.changes",
                 "app.tables.messages", "app.tables.helpdesk", "app.tables.mail", "app.tables.traffic",
                 "app.tables.lms",
                 "app.tables.ksef"],
        exclude_imported=True,
    ),
)
