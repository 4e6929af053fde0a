# One PostgreSQL sweep timed by part (claim, alerts, commit), with the events' and alerts' constraints and
# without them: re-arm, VACUUM ANALYZE, CHECKPOINT, sweep_parts.py, once migrated back to tickets 0007 /
# notifications 0007 (constraints present), once migrated forward (decision 0010).
#   sh bench/results/sla-sweep-2026-12-05b/parts_constraints.sh kefu_sweep bench/work/sweep-pg
# (The figures in decision 0010 came from dropping the two constraints by hand with ALTER TABLE on the same
# database; the migrations do the same.)
DB=${1:-kefu_sweep}
DATA=${2:-bench/work/sweep-pg}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../../.."
URL=postgres://postgres@127.0.0.1:5432/$DB
for state in present dropped; do
  if [ $state = present ]; then
    DATABASE_URL=$URL KEFU_DATA_DIR=$DATA .venv/bin/python -m kefu migrate tickets 0007 > /dev/null
    DATABASE_URL=$URL KEFU_DATA_DIR=$DATA .venv/bin/python -m kefu migrate notifications 0007 > /dev/null
  else
    DATABASE_URL=$URL KEFU_DATA_DIR=$DATA .venv/bin/python -m kefu migrate > /dev/null
  fi
  .venv/bin/python -c "
import sys; sys.path.insert(0, '.')
from bench.generate import configure
configure('$URL', '$DATA')
import django; django.setup()
from bench.sla_sweep import _rearm_swept
_rearm_swept()"
  psql -h 127.0.0.1 -U postgres "$DB" -q -c "VACUUM ANALYZE" -c "CHECKPOINT"
  echo "== constraints $state"
  .venv/bin/python bench/results/sla-sweep-2026-12-05/sweep_parts.py "$URL" "$DATA" | grep -E "total|claim|commit|alerts total"
done
