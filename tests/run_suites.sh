#!/usr/bin/env bash
# Runs the suite on SQLite and, when SERVICE_HALL_TEST_POSTGRES_URL is set, on PostgreSQL too,
# side by side; prints both logs; fails if either fails (or, with SERVICE_HALL_REQUIRE_SERVICES=1,
# if anything was skipped).
set -u
PY=${1:-python}
logdir=$(mktemp -d)
run() {  # name, extra env...
  local name=$1; shift
  env "$@" "$PY" -m pytest -q -p no:cacheprovider -rs tests > "$logdir/$name.log" 2>&1
  echo $? > "$logdir/$name.rc"
}
run sqlite SERVICE_HALL_TEST_DATABASE_URL= &
if [ -n "${SERVICE_HALL_TEST_POSTGRES_URL:-}" ]; then
  run postgresql SERVICE_HALL_TEST_DATABASE_URL="$SERVICE_HALL_TEST_POSTGRES_URL" &
fi
wait
status=0
for log in "$logdir"/*.log; do
  name=$(basename "$log" .log)
  echo "===== $name ====="
  cat "$log"
  rc=$(cat "$logdir/$name.rc")
  if [ "$rc" != 0 ]; then echo "!!! $name suite failed (exit $rc)"; status=1; fi
  if [ "${SERVICE_HALL_REQUIRE_SERVICES:-}" = 1 ] && tail -n 3 "$log" | grep -q "skipped"; then
    echo "!!! $name suite skipped tests although every service is required"; status=1
  fi
done
exit $status
