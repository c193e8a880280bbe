#!/usr/bin/env bash
# Drops the databases that test and benchmark runs left on the shared
# PostgreSQL server when they were killed before their clean-up ran:
# those named cl_test_<unix seconds>_... or cl_bench_<unix seconds>_...
# (crates/testdb) created before $1, the start of this run, so a run still
# going beside this one keeps its own, and with no session open on them:
# a benchmark load started before this run and still going (an hour at
# 10 M clicks) is not left over either. A benchmark's kept database is
# renamed cl_kept_... and stays.
# Usage: .ci/pg-leftovers.sh START_EPOCH [SERVER_URL]
set -euo pipefail
before="$1"
server="${2:-postgres://root@127.0.0.1:5432}"
psql "$server/postgres" -Atqc "
  SELECT datname FROM pg_database
  WHERE datname ~ '^cl_(test|bench)_[0-9]+_'
    AND split_part(datname, '_', 3)::bigint < $before
    AND datname NOT IN (SELECT datname FROM pg_stat_activity WHERE datname IS NOT NULL)" |
while read -r db; do
  echo "dropping leftover database $db"
  # without FORCE: a session opened since the check keeps it
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS \"$db\"" || true
done
