#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use is up (scripts/test runs it first):
# CREDIT_RULES_TEST_PG, by default postgres://postgres@127.0.0.1:5432/test (trust auth).
# Starts the machine's cluster when it is down (pg_ctlcluster), installs Debian's
# postgresql when there is none, or as a last resort initdb's a throwaway cluster in a
# temporary folder; then creates the database `test` if missing. Never skips: if
# PostgreSQL cannot be made ready it exits non-zero with the reason.
set -euo pipefail
host=127.0.0.1
port=5432
fail() { echo "error: PostgreSQL for the tests: $*" >&2; exit 1; }
ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
wait_ready() {
  for _ in $(seq 1 60); do ready && return 0; sleep 0.5; done
  return 1
}

if ! command -v pg_isready >/dev/null 2>&1 && [ -d /usr/lib/postgresql ]; then
  PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! command -v pg_isready >/dev/null 2>&1; then
  echo "installing postgresql (once per machine)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update >/dev/null \
    && apt-get -o DPkg::Lock::Timeout=600 install -y postgresql >/dev/null \
    || fail "apt-get install postgresql failed"
fi

if ! ready; then
  if [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting PostgreSQL $version (cluster main)…"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start \
      || fail "pg_ctlcluster $version main start failed (see /var/log/postgresql/)"
  else
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bin" ] || fail "no PostgreSQL installation found"
    dir=$(mktemp -d /tmp/credit-rules-pg.XXXXXX)
    chown postgres "$dir" 2>/dev/null || true
    echo "no cluster: initdb into $dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null \
      || fail "initdb into $dir failed"
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" \
      -o "-p $port -k /tmp -c listen_addresses=$host" start >/dev/null \
      || fail "pg_ctl start failed (log: $dir/log)"
  fi
fi
wait_ready || fail "the server at $host:$port does not answer (pg_isready)"
if [ -z "${CREDIT_RULES_TEST_PG:-}" ]; then
  exists=$(psql -h "$host" -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" postgres) \
    || fail "cannot connect as postgres to $host:$port (trust auth expected)"
  if [ "$exists" != 1 ]; then
    createdb -h "$host" -p "$port" -U postgres test || fail "createdb test failed"
  fi
fi
echo "PostgreSQL ready at ${CREDIT_RULES_TEST_PG:-postgres://postgres@$host:$port/test}"
