cd /work/main
R=bench/results/clinc150-2026-12-03
D=/work/shared/data/clinc150
speed() { python3 -c "import time;t=time.perf_counter();sum(i*i for i in range(10**7));print(time.perf_counter()-t)"; }
for run in val:minilm-int8 test:minilm-int8 test:minilm; do
  split=${run%%:*}; enc=${run#*:}
  echo "== $split $enc $(date +%T) speed $(speed) load $(cut -d' ' -f1-3 /proc/loadavg)"
  nice -n 10 .venv/bin/python -m kefu bot evaluate --train $D/train.csv --test $D/$split.csv --oos-label oos --encoder $enc \
     > $R/$split-$enc.json 2> /tmp/clinc/$split-$enc.err
  cat $R/$split-$enc.json
  echo "   end $(date +%T) speed $(speed) load $(cut -d' ' -f1-3 /proc/loadavg)"
done
