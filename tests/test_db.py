"""The pooled SQLite engine: reads on the loop's own connection, writes and busy reads pooled."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import date

import pytest
from piccolo.querystring import QueryString

from app.db import PooledSQLiteEngine

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _engine(path, wal: bool) -> PooledSQLiteEngine:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
    conn.execute('CREATE TABLE "item" ("id" INTEGER PRIMARY KEY, "name" TEXT, "day" DATE, "ok" BOOLEAN)')
    conn.commit()
    conn.close()
    return PooledSQLiteEngine(path=str(path), timeout=5, check_same_thread=False)


async def _run(engine, sql: str, *args):
    return await engine.run_querystring(QueryString(sql, *args))


@pytest.mark.parametrize("pooled", [False, True])
async def test_pooled_reads_answer_what_piccolo_answers(tmp_path, pooled):
    engine = _engine(tmp_path / "t.sqlite3", wal=True)
    if pooled:
        engine.start_pool(2)
    await _run(engine, 'INSERT INTO "item" ("name", "day", "ok") VALUES ({}, {}, {})', "Łąka", date(2026, 12, 4), True)
    rows = await _run(engine, 'SELECT "id", "name", "day", "ok" FROM "item" WHERE "name" = {}', "Łąka")
    assert rows == [{"id": 1, "name": "Łąka", "day": date(2026, 12, 4), "ok": True}]
    await _run(engine, 'UPDATE "item" SET "name" = {} WHERE "id" = 1', "Pole")
    assert await _run(engine, 'SELECT "name" FROM "item"') == [{"name": "Pole"}]  # sees the write at once
    if pooled:
        assert asyncio.get_running_loop() in engine._readers  # the read did go the direct way
        with pytest.raises(sqlite3.OperationalError):  # and that connection cannot write
            engine._readers[asyncio.get_running_loop()].execute('DELETE FROM "item"')
        await engine.close_pool()


async def test_a_read_while_the_database_is_locked_waits_off_the_loop(tmp_path):
    path = tmp_path / "t.sqlite3"
    engine = _engine(path, wal=False)  # without WAL a writer's lock blocks readers too
    engine.start_pool(2)
    await _run(engine, 'INSERT INTO "item" ("name") VALUES ({})', "przed")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE item SET name = 'po'")
    read = asyncio.create_task(_run(engine, 'SELECT "name" FROM "item"'))
    gaps = []
    while not read.done() and len(gaps) < 5:  # the loop keeps running while the read waits
        start = time.perf_counter()
        await asyncio.sleep(0.02)
        gaps.append(time.perf_counter() - start)
    assert len(gaps) == 5 and not read.done()
    assert max(gaps) < 0.25, gaps
    writer.execute("COMMIT")
    writer.close()
    assert await asyncio.wait_for(read, 5) == [{"name": "po"}]
    await engine.close_pool()
