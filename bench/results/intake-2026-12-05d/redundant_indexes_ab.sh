# Run before migration tickets 0009 is applied (it drops these five indexes): the script recreates them at the end.
# Alternate: the 1M database with the five redundant ticket indexes, and without them; statement log each time.
cd "$(dirname "$0")/../../.."
DB=kefu_bench1m
P="psql -h 127.0.0.1 -U postgres -d $DB -qc"
drop() { $P "DROP INDEX IF EXISTS tickets_ticket_category_id_710dbfd0, tickets_ticket_customer_id_f2d9135a, tickets_ticket_owner_id_40236788, tickets_ticket_team_id_5a4e7469, tickets_ticket_tracking_token_3e18b701_like"; }
create() {
  $P "CREATE INDEX IF NOT EXISTS tickets_ticket_category_id_710dbfd0 ON tickets_ticket (category_id)"
  $P "CREATE INDEX IF NOT EXISTS tickets_ticket_customer_id_f2d9135a ON tickets_ticket (customer_id)"
  $P "CREATE INDEX IF NOT EXISTS tickets_ticket_owner_id_40236788 ON tickets_ticket (owner_id)"
  $P "CREATE INDEX IF NOT EXISTS tickets_ticket_team_id_5a4e7469 ON tickets_ticket (team_id)"
  $P "CREATE INDEX IF NOT EXISTS tickets_ticket_tracking_token_3e18b701_like ON tickets_ticket (tracking_token varchar_pattern_ops)"
}
for i in 1 2; do
  for v in with without; do
    if [ $v = with ]; then create; else drop; fi
    $P "CHECKPOINT"
    sh bench/results/intake-2026-12-05/statement_log.sh $DB bench/work/pg-1m > /tmp/idx-$v-$i.txt 2>&1
    echo "$v $i $(grep '^total ms' /tmp/idx-$v-$i.txt) $(grep 'INSERT INTO "tickets_ticket"' /tmp/idx-$v-$i.txt | grep execute | awk '{print $1, $2}') $(python3 -c "import json;s=open('/tmp/idx-$v-$i.txt').read();d=json.loads(s[:s.index('total ms')]);print(d['median'])")"
  done
done
create
