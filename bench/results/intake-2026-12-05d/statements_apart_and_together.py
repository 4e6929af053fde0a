"""What one statement costs beside its rows: seven single-row inserts sent apart, against the same seven rows
in one statement (data-modifying WITH parts, as kefu.core.bulk.together sends them), in psycopg's pipeline
mode as intake runs. Client CPU from this process, server CPU from the backend's /proc entry; each group of
seven is rolled back.

    python bench/results/intake-2026-12-05d/statements_apart_and_together.py \
        --database-url postgres://postgres@127.0.0.1:5432/kefu_bench10k --data-dir bench/work/pg-10k
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.generate import configure  # noqa: E402
from bench.intake_cpu import backend_cpu_seconds  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--database-url", required=True)
parser.add_argument("--data-dir", required=True)
parser.add_argument("--groups", type=int, default=600)
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()
configure(args.database_url, args.data_dir)

import django  # noqa: E402

django.setup()
import psycopg  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from kefu.core.bulk import _insert_statement, _values, pipelined  # noqa: E402
from kefu.core.clock import now  # noqa: E402
from kefu.tickets.models import Ticket, TicketEvent  # noqa: E402

connection.ensure_connection()
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
ticket = Ticket.objects.order_by("-id").first()
sql, fields = _insert_statement(TicketEvent, connection)
values = _values(TicketEvent(ticket=ticket, type="note", actor=None, public=False, at=now(), payload={"n": 1}),
                 fields, connection)
K = 7
one_statement = "WITH " + ", ".join(f"w{k} AS ({sql})" for k in range(K - 1)) + " " + sql


def apart(cursor):
    for _ in range(K):
        cursor.execute(sql, values, prepare=True)


def together(cursor):
    cursor.execute(one_statement, values * K, prepare=True)


def measure(label, send):
    with transaction.atomic():
        with pipelined(), psycopg.Cursor(connection.connection) as cursor:
            for _ in range(20):
                send(cursor)
            cpu, server = time.process_time(), backend_cpu_seconds(backend)
            for _ in range(args.groups):
                send(cursor)
            cpu, server = time.process_time() - cpu, backend_cpu_seconds(backend) - server
        transaction.set_rollback(True)
    print(f"{label:28s} client {cpu / args.groups * 1e6:6.1f} µs   server {server / args.groups * 1e6:6.1f} µs"
          f"   per {K} rows")


for _ in range(args.rounds):
    measure(f"{K} statements, one row each", apart)
    measure(f"1 statement, {K} parts", together)
