#!/usr/bin/env bash
# Set up, then run the whole test suite on SQLite and on PostgreSQL.
# Under CI=true the PostgreSQL run is mandatory; elsewhere a missing server skips it loudly.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

PY=.venv/bin/python
status=0

echo "=== WBOK tests on SQLite"
$PY -m pytest "$@" || status=1

pg_up() { $PY - <<'PY'
import asyncio, os, sys
import asyncpg
async def main():
    conn = await asyncpg.connect(os.environ.get("WBOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"), timeout=5)
    await conn.close()
try:
    asyncio.run(main())
except Exception:
    sys.exit(1)
PY
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do pg_up && break; sleep 1; done
  fi
fi

if pg_up; then
  echo "=== WBOK tests on PostgreSQL"
  WBOK_TEST_DB=postgres $PY -m pytest "$@" || status=1
elif [ "${CI:-}" = "true" ]; then
  echo "!!! PostgreSQL at 127.0.0.1:5432 is not reachable and CI=true: failing." >&2
  status=1
else
  echo "!!!!!!!! PostgreSQL at 127.0.0.1:5432 is not reachable: the PostgreSQL run was SKIPPED !!!!!!!!" >&2
fi
exit $status
