#!/bin/sh
# intake CPU: 4548cd8 (constraints present) against the working tree (dropped), alternating
URL=postgres://postgres@127.0.0.1:5432/kefu_bench
DATA=/work/main/bench/work/pg-100k
mig() { (cd /work/main && DATABASE_URL=$URL KEFU_DATA_DIR=$DATA .venv/bin/python -m kefu migrate "$@" > /dev/null 2>&1); }
for i in $(seq 1 ${1:-2}); do
  for side in head new; do
    if [ $side = head ]; then T=/tmp/head-tree; mig tickets 0007; mig notifications 0007; else T=/work/main; mig; fi
    (cd $T && .venv/bin/python bench/intake_cpu.py --database-url $URL --data-dir $DATA --creates 1500 --out /tmp/sw/intake-$side-$i.json > /dev/null 2>&1)
    python3 -c "import json;d=json.load(open('/tmp/sw/intake-$side-$i.json'));print('$side',$i,d['median'])"
  done
done
