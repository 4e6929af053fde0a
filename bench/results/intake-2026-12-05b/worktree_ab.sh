#!/bin/sh
# intake CPU: /tmp/prev-tree against the working tree, alternating, same database and migrations
URL=postgres://postgres@127.0.0.1:5432/kefu_bench
DATA=/work/main/bench/work/pg-100k
TAG=$1; N=${2:-2}
for i in $(seq 1 $N); do
  for side in prev new; do
    if [ $side = prev ]; then T=/tmp/prev-tree; else T=/work/main; fi
    (cd $T && .venv/bin/python bench/intake_cpu.py --database-url $URL --data-dir $DATA --creates 1500 --out /tmp/sw/$TAG-$side-$i.json > /dev/null 2>&1)
    python3 -c "import json;d=json.load(open('/tmp/sw/$TAG-$side-$i.json'));print('$side',$i,d['median'])"
  done
done
