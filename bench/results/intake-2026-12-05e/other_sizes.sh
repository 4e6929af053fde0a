#!/bin/sh
# The other sizes of issue 2's benchmark with this session's code, from the repository root, after the loads
# (load-*.json here; the commands in docs/performance.md):
#   sh bench/results/intake-2026-12-05e/other_sizes.sh
set -e
out=$PWD/bench/results/intake-2026-12-05e
pg="--database-url postgres://postgres@127.0.0.1:5432/kefu_bench --data-dir $PWD/bench/work/pg-100k"
words="--search-words 退款,发货,发票,登录,快递,refund,invoice,delivery,warehouse,重复扣款,firmware"
for i in 1 2; do .venv/bin/python bench/run.py $pg $words --out $out/postgres-100000-$i.json; done
for i in 1 2; do .venv/bin/python bench/run.py --data-dir bench/work/sqlite-100k --out $out/sqlite-100000-$i.json; done
for i in 1 2 3; do .venv/bin/python bench/run.py --data-dir bench/work/sqlite-1m --out $out/sqlite-1000000-$i.json; done
