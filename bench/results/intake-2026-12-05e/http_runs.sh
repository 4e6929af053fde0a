#!/bin/sh
# The fifth session's HTTP runs on the 1M PostgreSQL database, from the repository root:
#   sh bench/results/intake-2026-12-05e/http_runs.sh BASE_WORKTREE
# BASE_WORKTREE is a git worktree of 1aee016 (the fourth session's end) with .venv linked:
#   git worktree add /tmp/wt-base 1aee016 && ln -s $PWD/.venv /tmp/wt-base/.venv
# First one run of the default operations (the first after the load), then `--ops me,api` alternating
# before (BASE_WORKTREE) and after (this checkout) three times, then two more default runs.
set -e
base=$1
out=$PWD/bench/results/intake-2026-12-05e
db="--database-url postgres://postgres@127.0.0.1:5432/kefu_bench1m --data-dir $PWD/bench/work/pg-1m"
.venv/bin/python bench/run.py $db --out $out/postgres-1000000-1.json
for i in 1 2 3; do
  (cd "$base" && .venv/bin/python bench/run.py $db --ops me,api --out $out/ab-before-$i.json)
  .venv/bin/python bench/run.py $db --ops me,api --out $out/ab-after-$i.json
done
.venv/bin/python bench/run.py $db --out $out/postgres-1000000-2.json
.venv/bin/python bench/run.py $db --out $out/postgres-1000000-3.json
