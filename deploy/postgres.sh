#!/usr/bin/env bash
# Makes sure the machine's PostgreSQL (Debian cluster) is running, for the record's Postgres tests.
# Idempotent; exits 0 without doing anything when no Debian PostgreSQL cluster is installed.
set -euo pipefail
command -v pg_lsclusters >/dev/null 2>&1 || { echo "postgres.sh: no Debian PostgreSQL installed; skipping"; exit 0; }
pg_lsclusters --no-header | while read -r ver cluster port status _rest; do
  if [ "$status" != "online" ]; then
    echo "postgres.sh: starting cluster $ver/$cluster on port $port"
    if [ "$(id -u)" = 0 ]; then pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start
    else sudo -n pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start; fi
  fi
done
pg_lsclusters --no-header
