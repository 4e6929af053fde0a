#!/bin/sh
# The ticket page before (660a144, a worktree sharing the venv) and after this change, alternating on the
# same databases. Run from the repository root: sh bench/results/ticket-page-2026-12-04/ab.sh
set -e
OUT=bench/results/ticket-page-2026-12-04
BASE=${BASE:-/tmp/base-tree}
PG=postgres://postgres@127.0.0.1:5432/kefu_bench
for round in 1 2 3; do
  for side in before after; do
    if [ $side = before ]; then dir=$BASE; else dir=$PWD; fi
    (cd $dir && .venv/bin/python bench/run.py --data-dir $OLDPWD/bench/work/sqlite-100k --ops detail \
        --out $OLDPWD/$OUT/sqlite-$side-$round.json > /dev/null)
    (cd $dir && .venv/bin/python bench/run.py --database-url $PG --data-dir $OLDPWD/bench/work/pg-100k --ops detail \
        --out $OLDPWD/$OUT/postgres-$side-$round.json > /dev/null)
  done
done
