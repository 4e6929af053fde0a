#!/bin/bash
# A/B: import-mail throughput before this session (3fa6955, /tmp/base) and now (/work/main), alternating.
for i in 1 2 3; do  # runs 1–15 were five calls with i = 1…15 in threes
  for side in base main; do
    if [ $side = base ]; then dir=/tmp/base; else dir=/work/main; fi
    rm -rf /tmp/mb-$side-$i
    (cd $dir && PYTHONPATH=$dir /work/main/.venv/bin/python bench/mail_intake.py --data-dir /tmp/mb-$side-$i \
       --messages 2000 --http-clients 0 --out /tmp/mb-$side-$i.json > /tmp/mb-$side-$i.log 2>&1)
    echo "$side $i $(grep -o '"import_per_s": [0-9.]*' /tmp/mb-$side-$i.json 2>/dev/null || tail -1 /tmp/mb-$side-$i.log)"
  done
done
