# The PostgreSQL sweep on a settled database, timed by part, with the WAL it wrote by relation:
# re-arm the swept clocks, VACUUM ANALYZE and CHECKPOINT (as a live database's autovacuum and checkpointer
# would have), sweep, then pg_waldump over the sweep's WAL.
#   sh bench/results/sla-sweep-2026-12-05/settled_reuse.sh kefu_sweep2 bench/work/sweep-pg2
DB=${1:-kefu_sweep2}
DATA=${2:-bench/work/sweep-pg2}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../../.."
.venv/bin/python - <<PY
import sys; sys.path.insert(0, ".")
from bench.generate import configure
configure("postgres://postgres@127.0.0.1:5432/$DB", "$DATA")
import django; django.setup()
from bench.sla_sweep import _rearm_swept
print("rearmed", _rearm_swept())
PY
psql -h 127.0.0.1 -U postgres $DB -q -c "VACUUM ANALYZE" -c "CHECKPOINT"
L0=$(psql -h 127.0.0.1 -U postgres $DB -Atc "select pg_current_wal_lsn()")
.venv/bin/python "$HERE/sweep_parts.py" postgres://postgres@127.0.0.1:5432/$DB "$DATA"
L1=$(psql -h 127.0.0.1 -U postgres $DB -Atc "select pg_current_wal_lsn()")
psql -h 127.0.0.1 -U postgres $DB -Atc "select pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$L0'))"
/usr/lib/postgresql/15/bin/pg_waldump -p /var/lib/postgresql/15/main/pg_wal -s $L0 -e $L1 2>/dev/null > /tmp/sweep-wal.txt
python3 - <<PY
import re, collections, subprocess
c = collections.Counter()
for line in open("/tmp/sweep-wal.txt"):
    m = re.search(r"desc: (\S+)", line); kind = m.group(1) if m else "?"
    rm = line.split()[1] if len(line.split())>1 else "?"
    for rel, fpw in re.findall(r"rel \d+/\d+/(\d+)(?: fork \w+)? blk \d+( FPW)?", line):
        c[(rm, kind, rel, bool(fpw))] += 1
names = dict(l.split("|") for l in subprocess.run(["psql","-h","127.0.0.1","-U","postgres","$DB","-Atc","select relfilenode, relname from pg_class where relfilenode>0"],capture_output=True,text=True).stdout.split())
for (rm, kind, rel, fpw), n in c.most_common(25):
    print(f"{n:7d} {rm:8s} {kind:15s} {names.get(rel, rel):40s} {'FPW' if fpw else ''}")
PY
