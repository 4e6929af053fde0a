# The bulk loader before (bulk_create; a worktree of the commit given as $1) and after (this checkout):
# 100k tickets x 4 messages, 20k customers, each on a fresh database, alternating $2 times per database.
# From the repository root:  sh bench/results/load-2026-12-05c/ab_load.sh <before-commit> 2
set -e
BEFORE=$1; ROUNDS=${2:-2}
R=bench/results/load-2026-12-05c
PG=postgres://postgres@127.0.0.1:5432/kefu_load_ab
rm -rf /tmp/load-before && git worktree add -q -f /tmp/load-before "$BEFORE" && ln -sf "$PWD/.venv" /tmp/load-before/.venv
load() {  # $1 tree, $2 label, $3 round
  rm -rf /tmp/load-ab-sqlite
  (cd "$1" && .venv/bin/python bench/generate.py --tickets 100000 --messages 4 --customers 20000 \
      --data-dir /tmp/load-ab-sqlite --output "$OLDPWD/$R/sqlite-$2-$3.json" --no-progress > /dev/null)
  psql -q -h 127.0.0.1 -U postgres -c 'drop database if exists kefu_load_ab' -c 'create database kefu_load_ab'
  (cd "$1" && DATABASE_URL=$PG KEFU_DATA_DIR=/tmp/load-ab-pg .venv/bin/python -m kefu migrate -v 0 &&
      .venv/bin/python bench/generate.py --tickets 100000 --messages 4 --customers 20000 --database-url $PG \
      --data-dir /tmp/load-ab-pg --output "$OLDPWD/$R/postgres-$2-$3.json" --no-progress > /dev/null)
}
for round in $(seq 1 "$ROUNDS"); do
  load /tmp/load-before before "$round"
  load "$PWD" after "$round"
done
git worktree remove --force /tmp/load-before
for f in $R/*-*-*.json; do
  python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[1], d['seconds'])" "$f"
done
