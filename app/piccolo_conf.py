"""Piccolo configuration: the engine comes from WBOK_DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from app.db import engine_for_url
from app.settings import get_settings

DB = engine_for_url(get_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["app.tables.piccolo_app"])
