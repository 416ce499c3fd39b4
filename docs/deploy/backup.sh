#!/bin/sh
# Nightly PostgreSQL backup of Service Hall (docs/DEPLOY.md, "Backups").
#   SERVICE_HALL_DATABASE_URL  the database (postgresql://user:pass@host/db; +psycopg is accepted)
#   BACKUP_DIR                 where dumps go (default /var/backups/service-hall)
#   KEEP_DAYS                  dumps older than this are deleted (default 30)
# Writes service-hall-YYYYmmddTHHMMSSZ.dump (pg_dump custom format: restore with pg_restore),
# first to a .partial file, so a failed or interrupted dump never looks like a good one.
set -eu
url="${SERVICE_HALL_DATABASE_URL:?SERVICE_HALL_DATABASE_URL is not set}"
url="$(printf '%s' "$url" | sed -e 's#^postgresql+psycopg2*://#postgresql://#' -e 's#^postgres://#postgresql://#')"
case "$url" in
  postgresql://*) ;;
  *) echo "backup.sh: not a PostgreSQL URL; back up the SQLite file with sqlite3 .backup" >&2; exit 2 ;;
esac
dir="${BACKUP_DIR:-/var/backups/service-hall}"
keep="${KEEP_DAYS:-30}"
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$dir/service-hall-$stamp.dump"
umask 077                                   # the dump holds personal data (SPEC 7)
pg_dump --format=custom --compress=6 --no-owner --file="$target.partial" "$url"
pg_restore --list "$target.partial" > /dev/null   # readable, or fail loudly
mv "$target.partial" "$target"
find "$dir" -maxdepth 1 -name 'service-hall-*.dump' -mtime +"$keep" -delete
echo "backup.sh: wrote $target ($(wc -c < "$target") bytes)"
