cd /work/main
R=bench/results/clinc150-2026-12-03
D=/work/shared/data/clinc150
speed() { python3 -c "import time;t=time.perf_counter();sum(i*i for i in range(10**7));print(time.perf_counter()-t)"; }
for enc in none minilm-int8 minilm; do
  echo "== $enc $(date +%T) speed $(speed) load $(cut -d' ' -f1-3 /proc/loadavg)"
  arg=""; [ $enc != none ] && arg="--encoder $enc"
  nice -n 10 .venv/bin/python -m kefu bot evaluate --train $D/train.csv --test $D/test.csv --oos-label oos $arg \
     > $R/test-$enc.json 2> /tmp/clinc/test-$enc.err
  cat $R/test-$enc.json
  echo "   end $(date +%T) speed $(speed) load $(cut -d' ' -f1-3 /proc/loadavg)"
done
