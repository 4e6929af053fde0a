#!/bin/sh
# After the default of three web workers on PostgreSQL (99ed31d): the default operations at 1M and 100k,
# alternating, from the repository root: sh bench/results/intake-2026-12-05e/final_runs.sh
set -e
out=$PWD/bench/results/intake-2026-12-05e/final
mkdir -p $out
words="--search-words 退款,发货,发票,登录,快递,refund,invoice,delivery,warehouse,重复扣款,firmware"
for i in 1 2; do
  .venv/bin/python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench1m \
      --data-dir $PWD/bench/work/pg-1m --out $out/postgres-1000000-$i.json
  .venv/bin/python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench \
      --data-dir $PWD/bench/work/pg-100k $words --out $out/postgres-100000-$i.json
done
