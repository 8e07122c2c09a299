#!/usr/bin/env bash
# Set up, then run the whole test suite on SQLite and on PostgreSQL.
# Under CI=true the PostgreSQL run is mandatory; elsewhere a missing server skips it loudly.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

PY=.venv/bin/python
status=0

# MariaDB holds the LMS databases of tests/test_lms_import.py (the import reads LMS from
# PostgreSQL and from MySQL/MariaDB); under CI=true those tests fail when it is down.
mysql_up() { $PY -c "import pymysql; pymysql.connect(host='127.0.0.1', port=3306, user='root', password='', connect_timeout=3).close()" 2>/dev/null; }
if ! mysql_up; then
  echo "MariaDB is down; starting it"
  if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/mariadb ]; then
    service mariadb start >/dev/null 2>&1 || true
  elif command -v mysqld_safe >/dev/null 2>&1; then
    (mysqld_safe >/dev/null 2>&1 &)
  fi
  for _ in 1 2 3 4 5 6 7 8 9 10; do mysql_up && break; sleep 1; done
fi
if ! mysql_up; then
  if [ "${CI:-}" = "true" ]; then
    echo "!!! MariaDB at 127.0.0.1:3306 is not reachable and CI=true: the LMS import tests will fail." >&2
  else
    echo "!!!!!!!! MariaDB at 127.0.0.1:3306 is not reachable: the LMS import tests on MariaDB are SKIPPED !!!!!!!!" >&2
  fi
fi

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
