#!/usr/bin/env bash
# System packages the full test suite needs (run as root on Debian 12): PostGIS for the machine's
# PostgreSQL, Debian's headless Chromium for the map tests and CJK fonts for Chinese labels in
# its screenshots. Idempotent.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
pg_version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -n "$pg_version" ] && [ ! -e "/usr/share/postgresql/$pg_version/extension/postgis.control" ]; then
    need+=("postgresql-$pg_version-postgis-3")
fi
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Start PostgreSQL if it is installed and not running, then enable PostGIS in the test database.
if [ -n "$pg_version" ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || true
        for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    psql -q -h 127.0.0.1 -U postgres -d test -c 'CREATE EXTENSION IF NOT EXISTS postgis' || {
        echo "setup-system: could not enable PostGIS in database 'test'" >&2; exit 1; }
fi
