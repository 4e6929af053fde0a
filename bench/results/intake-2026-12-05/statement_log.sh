# Every statement PostgreSQL runs for 150 API creations (100 plus the script's warm-up), from its log,
# summed by statement shape. Needs superuser (ALTER DATABASE) and read access to the server's log.
#   sh bench/results/intake-2026-12-05/statement_log.sh [DATABASE] [DATA_DIR]   (default kefu_bench, bench/work/pg-100k)
DB=${1:-kefu_bench}
DATA_DIR=${2:-bench/work/pg-100k}
cd "$(dirname "$0")/../../.."
L=/var/log/postgresql/postgresql-15-main.log
psql -h 127.0.0.1 -U postgres -qc "ALTER DATABASE $DB SET log_min_duration_statement = 0"
N=$(wc -l < $L)
.venv/bin/python bench/intake_cpu.py --database-url postgres://postgres@127.0.0.1:5432/$DB \
    --data-dir $DATA_DIR --creates 100 --rounds 1 --out /tmp/intake-log.json
psql -h 127.0.0.1 -U postgres -qc "ALTER DATABASE $DB RESET log_min_duration_statement"
tail -n +$N $L | python3 -c '
import re, sys, collections
c = collections.defaultdict(lambda: [0, 0.0])
for l in sys.stdin:
    m = re.search(r"duration: ([\d.]+) ms\s+(\w+)[^:]*: (.*)", l)
    if m:
        key = re.sub(r"\$\d+|\x27[^\x27]*\x27|\b\d+\b", "?", m.group(2) + " " + " ".join(m.group(3).split())[:110])
        c[key][0] += 1; c[key][1] += float(m.group(1))
print("total ms", round(sum(v[1] for v in c.values()), 1))
for k, (n, t) in sorted(c.items(), key=lambda kv: -kv[1][1])[:30]:
    print(f"{t:8.1f} {n:5d}  {k}")'
