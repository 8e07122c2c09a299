"""Migrations: the one initial migration matches the tables, and builds the schema."""

from __future__ import annotations

import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager

from app.tables.piccolo_app import APP_CONFIG

pytestmark = pytest.mark.anyio


async def test_the_migrations_match_the_tables():
    """What `piccolo migrations new wbok --auto` would write: nothing. A table or column
    changed without its migration shows up here as the statements it would need."""
    statements = [s for alter in await AutoMigrationManager().get_alter_statements(app_config=APP_CONFIG)
                  for s in alter.statements]
    assert statements == []


def test_there_is_one_initial_migration_to_build_on():
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    modules = BaseMigrationManager().get_migration_modules(APP_CONFIG.resolved_migrations_folder_path)
    assert sorted(modules)[0] == "2026-11-23T00:00:00:000000"


async def test_the_migrated_database_has_every_table_and_column():
    """The suite's database was built by `db.migrate()` from the migrations: its columns,
    read from the engine's own catalogue, are exactly the tables' columns."""
    from app import db

    for table in APP_CONFIG.table_classes:
        name = table._meta.tablename
        if db.is_sqlite():
            found = {r["name"] for r in await table.raw(f'PRAGMA table_info("{name}")')}
        else:
            found = {r["column_name"] for r in await table.raw(
                "SELECT column_name FROM information_schema.columns WHERE table_name = {}", name)}
        assert found == {c._meta.db_column_name for c in table._meta.columns}, name
