# The first sweep with an empty OS page cache against the next one, on the 1M sweep databases of this folder's
# fresh runs (root: drop_caches). Run from the repository root: sh bench/results/sla-sweep-2026-12-05c/cold_cache.sh
R=bench/results/sla-sweep-2026-12-05c
PG=postgres://postgres@127.0.0.1:5432/kefu_sweep
for run in 1 2; do
  sync; echo 3 > /proc/sys/vm/drop_caches
  .venv/bin/python bench/sla_sweep.py --data-dir bench/work/sweep-sqlite --reuse --out $R/sqlite-cold-$run.json
  .venv/bin/python bench/sla_sweep.py --data-dir bench/work/sweep-sqlite --reuse --out $R/sqlite-warm-$run.json
  sync; echo 3 > /proc/sys/vm/drop_caches
  .venv/bin/python bench/sla_sweep.py --database-url $PG --data-dir bench/work/sweep-pg --reuse --checkpoint-first \
      --out $R/postgres-cold-$run.json
  .venv/bin/python bench/sla_sweep.py --database-url $PG --data-dir bench/work/sweep-pg --reuse --checkpoint-first \
      --out $R/postgres-warm-$run.json
done
