# Two fresh SQLite 100k loads (code of 6f0f139, before the loader optimised the index), one given FTS5's
# optimize by hand; then the first `--ops me,api` run on each. Output: the JSON files here; the run printed
# optimize 5.5 s, and 115,456 index rows (420.8 MB) without it against 104,805 (416.5 MB) with it.
set -e
cd "$(dirname "$0")/../../.."
for variant in plain optimize; do
  rm -rf /tmp/exp-$variant
  .venv/bin/python bench/generate.py --tickets 100000 --messages 4 --customers 20000 --data-dir /tmp/exp-$variant --output /tmp/exp-$variant-load.json --no-progress > /dev/null
  if [ $variant = optimize ]; then
    .venv/bin/python -c "
import sqlite3, time
c = sqlite3.connect('/tmp/exp-optimize/kefu.sqlite3'); t = time.perf_counter()
c.execute(\"INSERT INTO tickets_ticket_fts(tickets_ticket_fts) VALUES ('optimize')\"); c.commit()
print('optimize', round(time.perf_counter() - t, 1), 's'); print(c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone())"
  fi
  .venv/bin/python -c "
import sqlite3; c = sqlite3.connect('/tmp/exp-$variant/kefu.sqlite3')
print('$variant segments-data rows', c.execute('select count(*), sum(length(block)) from tickets_ticket_fts_data').fetchone())"
  .venv/bin/python bench/run.py --data-dir /tmp/exp-$variant --ops me,api --out /tmp/exp-$variant-run1.json | grep "API create"
done
