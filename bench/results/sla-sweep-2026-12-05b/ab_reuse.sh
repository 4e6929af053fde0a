#!/bin/sh
# Interleaved A/B on kefu_sweep: HEAD (with the two foreign keys) against the working tree (without)
URL=postgres://postgres@127.0.0.1:5432/kefu_sweep
DATA=/work/main/bench/work/sweep-pg
TAG=$1; N=${2:-3}
mig() { (cd /work/main && DATABASE_URL=$URL KEFU_DATA_DIR=$DATA .venv/bin/python -m kefu migrate "$@" > /dev/null 2>&1); }
for i in $(seq 1 $N); do
  for side in head new; do
    if [ $side = head ]; then T=/tmp/head-tree; mig tickets 0007; mig notifications 0007; else T=/work/main; mig; fi
    psql -h 127.0.0.1 -U postgres kefu_sweep -Atc "select count(*) from pg_constraint where conname in ('tickets_ticketevent_ticket_id_b572d14b_fk_tickets_ticket_id','notifications_staffalert_user_id_50faae28_fk_accounts_user_id')" | tr '\n' ' '
    (cd $T && .venv/bin/python bench/sla_sweep.py --database-url $URL --data-dir $DATA --reuse --checkpoint-first --out /tmp/sw/$TAG-$side-$i.json > /dev/null 2>&1)
    python3 -c "import json,sys;d=json.load(open('/tmp/sw/$TAG-$side-$i.json'));s=d['sizes'][-1];print('$side',$i,s['sweep_s'],s['batch_ms'])"
  done
done
