-- The foreign-key checks' cost, run with the constraints immediate so that EXPLAIN ANALYZE reports them
-- ("Trigger for constraint …"), in a transaction that is rolled back; on the settled sweep database:
--   psql -h 127.0.0.1 -U postgres kefu_sweep2 -f bench/results/sla-sweep-2026-12-05/foreign_keys.sql
-- 2026-12-05: the events' ticket key 83.7 ms for 10,000 rows, the alerts' user key 36.8 ms for 15,000.
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
EXPLAIN (ANALYZE) INSERT INTO notifications_staffalert (user_id, ticket_id, kind, text, created_at)
    SELECT user_id, ticket_id, kind, text, created_at FROM notifications_staffalert ORDER BY id DESC LIMIT 15000;
EXPLAIN (ANALYZE) INSERT INTO tickets_ticketevent (ticket_id, type, actor_id, public, at, payload)
    SELECT ticket_id, type, actor_id, public, at, payload FROM tickets_ticketevent ORDER BY id DESC LIMIT 10000;
ROLLBACK;
