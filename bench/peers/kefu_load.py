"""Bulk-load the peer workload's data set into kefu for the peer harness (run in kefu's virtualenv).

    python bench/peers/kefu_load.py --database-url URL --data-dir DIR --tickets N --messages K --customers M
        [--seed S] [--chunk C] [--save-sample P] [--shape JSON]

The load itself is kefu's own benchmark loader, ``bench/generate.py`` (10 support teams, 20 agents with
``bench-agent`` in every team, the workload's status mix, tickets created over the past 365 days, their
timeline events and search documents). This script adds what the peer harness reports beside it:

* the ticket id range, the message count and the database size;
* ``save_path``: P tickets opened one by one through kefu's intake service (``open_ticket``) with their
  K-1 further messages (customer and agent turns alternating, as in the data set), in one transaction
  that is rolled back, extrapolated to 10k tickets;
* ``shape``: the workload's dataset description (``--shape``) against the loader's constants, with
  every difference listed, so that a diverging shape shows in the results instead of passing unnoticed.

The last line of stdout is one JSON object (the harness's ``load()`` result).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import generate as loader  # noqa: E402
from bench import text  # noqa: E402


def compare_shape(workload: dict[str, Any]) -> dict[str, Any]:
    """The loader's data-set constants beside the workload's, and the differences between them."""
    shares: dict[str, float] = {}
    for share, status, reopened in loader.STATUS_MIX:
        name = "reopened" if reopened else status
        shares[name] = round(shares.get(name, 0.0) + share, 4)
    ours = {"queues": loader.TEAMS, "agents": loader.AGENTS, "status_mix": shares,
            "assigned_fraction": loader.OWNER_SHARE, "message_chars": [200, 800], "created_spread_days": 365}
    differences = [f"{key}: workload {workload[key]!r}, kefu loader {value!r}"
                   for key, value in ours.items() if key in workload and workload[key] != value]
    return {"loader": ours, "differences": differences}


def db_size_mb() -> float:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_database_size(current_database())")
            return round(cur.fetchone()[0] / 1048576, 1)
        # Fold the write-ahead log into the database file, so the file size is the data set's.
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return round(os.path.getsize(connection.settings_dict["NAME"]) / 1048576, 1)


def save_path_sample(count: int, messages: int, seed: int) -> dict[str, Any]:
    """Open ``count`` tickets through the intake service, one by one, and roll them back."""
    from django.db import transaction

    from kefu.accounts.models import User
    from kefu.customers.models import Customer
    from kefu.tickets import services

    rng = random.Random(seed + 1)
    pool = text.PhrasePool(rng, size=500)
    agent = User.objects.get(username=loader.AGENT_USERNAME)
    customers = list(Customer.objects.select_related("user").order_by("pk")[:2000])
    t0 = time.perf_counter()
    with transaction.atomic():
        for _ in range(count):
            customer = rng.choice(customers)
            ticket = services.open_ticket(customer=customer, subject=pool.subject(rng),
                                          description=pool.body(rng, agent=False), actor=customer.user)
            for j in range(1, messages):
                if j % 2:
                    services.reply_to_customer(ticket, pool.body(rng, agent=True), actor=agent)
                else:
                    services.add_customer_message(ticket, pool.body(rng, agent=False), actor=customer.user)
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    return {"tickets": count, "seconds": round(elapsed, 2), "per_10k_s": round(elapsed * 10000 / count, 1),
            "note": "kefu.tickets.services.open_ticket plus K-1 replies/customer messages per ticket, "
                    "one transaction, rolled back"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--customers", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk", type=int, default=10000, help="tickets per transaction")
    parser.add_argument("--save-sample", type=int, default=0)
    parser.add_argument("--shape", default="{}", help="the workload's dataset object, as JSON")
    args = parser.parse_args(argv)
    loader.configure(args.database_url, args.data_dir)

    import django

    django.setup()
    from django.db import connection

    from kefu.tickets.models import Message, Ticket

    shape = compare_shape(json.loads(args.shape))
    for line in shape["differences"]:
        print(f"kefu_load: data set differs from the workload: {line}", file=sys.stderr)
    result = loader.generate(tickets=args.tickets, messages=args.messages, customers=args.customers,
                             seed=args.seed, chunk=args.chunk)
    seconds = result["seconds"]
    # The peer's total is its ticket and message inserts; kefu's also writes the timeline events and
    # the search documents and rebuilds the search index, all of which a ticket needs to be usable.
    load_s = seconds["tickets"] + seconds["search_index"]
    ids = Ticket.objects.order_by("pk").values_list("pk", flat=True)
    out = {
        "tickets": Ticket.objects.count(),
        "followups": Message.objects.count(),
        "ticket_id_min": ids.first(),
        "ticket_id_max": ids.last(),
        "customers": result["customers"],
        "events": result["rows"]["events"],
        "base_data_s": seconds["staff_and_customers"],
        "total_s": round(load_s, 2),
        "per_10k_s": round(load_s * 10000 / max(1, args.tickets), 2),
        "tickets_per_s": round(args.tickets / load_s, 1) if load_s else None,
        "rows_per_s": round(args.tickets * (1 + args.messages) / load_s, 1) if load_s else None,
        "search_index_s": seconds["search_index"],
        "analyze_s": seconds.get("analyze"),  # PostgreSQL
        "checkpoint_s": seconds.get("checkpoint"),  # SQLite: the write-ahead log folded into the database
        "chunks": [{"tickets": 10000, "total_s": s} for s in result["seconds_per_10k"]],
        "db_vendor": connection.vendor,
        "shape": shape,
    }
    out["save_path"] = save_path_sample(args.save_sample, args.messages, args.seed) if args.save_sample else None
    out["db_size_mb"] = db_size_mb()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
