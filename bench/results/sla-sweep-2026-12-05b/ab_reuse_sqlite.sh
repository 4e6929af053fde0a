#!/bin/sh
# Interleaved A/B on the SQLite 1M sweep database: 4548cd8 (constraints, migrated back) against the working tree
DATA=/work/main/bench/work/sweep-sqlite
TAG=$1; N=${2:-3}
mig() { (cd /work/main && KEFU_DATA_DIR=$DATA .venv/bin/python -m kefu migrate "$@" > /dev/null 2>&1); }
for i in $(seq 1 $N); do
  for side in head new; do
    if [ $side = head ]; then T=/tmp/head-tree; mig tickets 0007; mig notifications 0007; else T=/work/main; mig; fi
    (cd $T && .venv/bin/python bench/sla_sweep.py --data-dir $DATA --reuse --out /tmp/sw/$TAG-$side-$i.json > /dev/null 2>&1)
    python3 -c "import json,sys;d=json.load(open('/tmp/sw/$TAG-$side-$i.json'));s=d['sizes'][-1];print('$side',$i,s['sweep_s'],s['batch_ms'])"
  done
done
