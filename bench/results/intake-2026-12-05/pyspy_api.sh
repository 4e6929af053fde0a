# py-spy (GIL samples) of both kefu serve workers during bench/run.py --ops api on the 100k PostgreSQL database;
# then: python3 bench/results/intake-2026-12-05/pyspy_aggregate.py /tmp/intake-spy/spy-all.txt kefu
mkdir -p /tmp/intake-spy
cd "$(dirname "$0")/../../.."
.venv/bin/python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench --data-dir bench/work/pg-100k --ops api --out /tmp/intake-spy/pg-api-spy.json > /tmp/intake-spy/spy-run.log 2>&1 &
RUN=$!
sleep 9
PIDS=$(pgrep -f "kefu serve" | tr '\n' ' ')
echo "pids $PIDS"
for p in $PIDS; do
  py-spy record --gil --subprocesses --pid $p --duration 12 --rate 200 --format raw --nonblocking -o /tmp/intake-spy/spy-$p.txt > /dev/null 2>&1 &
done
wait $RUN
sleep 2
cat /tmp/intake-spy/spy-*.txt > /tmp/intake-spy/spy-all.txt
grep "tickets/s" /tmp/intake-spy/spy-run.log
