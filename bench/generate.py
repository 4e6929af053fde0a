"""Bulk-load a deterministic benchmark data set with plain inserts (kefu.core.bulk).

    python bench/generate.py --tickets 100000 --messages 4 --customers 20000 [--seed 1]
        [--database-url postgres://postgres@127.0.0.1:5432/kefu_bench] [--data-dir bench/work/sqlite]

Creates 10 support teams, 20 agents (``bench-agent`` / ``bench-pass-123`` in every team, plus the
supervisor ``bench-admin``), M customers, N tickets with K messages each (customer and agent replies
alternating), their timeline events and search documents. The database is migrated first and must hold
no tickets. Prints a JSON summary (seconds per phase, tickets per second per 10k block) on stdout.

Speed-ups used during the load, and undone afterwards (see docs/performance.md):
  * SQLite: ``PRAGMA synchronous=OFF``; the FTS5 triggers are dropped and the index is built once with
    ``'rebuild'`` and ``'optimize'`` (one segment) at the end, then the triggers are re-created from their
    stored SQL; a last checkpoint empties the write-ahead log.
  * PostgreSQL: ``synchronous_commit=off``; the GIN search index is dropped and re-created at the end,
    followed by ANALYZE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import text  # noqa: E402

AGENT_USERNAME = "bench-agent"
AGENT_PASSWORD = "bench-pass-123"  # noqa: S105 - the documented benchmark login
ADMIN_USERNAME = "bench-admin"
TEAMS = 10
AGENTS = 20

# (share, kefu status, reopened_count) — "open" without an owner is kefu's NEW (not yet accepted).
STATUS_MIX = [(0.40, "open", 0), (0.05, "open", 1), (0.25, "resolved", 0), (0.30, "closed", 0)]
OWNER_SHARE = 0.70
CHANNELS = [("web", 30), ("email", 25), ("chat", 20), ("phone", 10), ("wechat", 10), ("api", 5)]
PRIORITIES = [("urgent", 5), ("high", 20), ("normal", 60), ("low", 15)]


def configure(database_url: str | None, data_dir: str | None) -> None:
    """Point Django at the benchmark database; call before django.setup()."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if data_dir:
        os.environ["KEFU_DATA_DIR"] = str(Path(data_dir).resolve())
    os.environ.setdefault("KEFU_DEBUG", "0")


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _status(rng: random.Random) -> tuple[str, int]:
    roll = rng.random()
    acc = 0.0
    for share, status, reopened in STATUS_MIX:
        acc += share
        if roll < acc:
            return status, reopened
    return STATUS_MIX[-1][1], STATUS_MIX[-1][2]


# ------------------------------------------------------------------------------------------ staff


def ensure_staff(rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password

    from kefu.accounts.models import Department, Role, User

    teams = []
    for i in range(TEAMS):
        team, _ = Department.objects.get_or_create(name=f"Support team {i + 1:02d}",
                                                   defaults={"kind": Department.Kind.SUPPORT})
        teams.append(team)
    agents: list[Any] = []
    agent_teams: dict[int, list[int]] = {}
    for i in range(AGENTS):
        username = AGENT_USERNAME if i == 0 else f"bench-agent{i:02d}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(
                username=username, email=f"{username}@staff.bench.example", role=Role.AGENT,
                display_name=text.person_name(rng),
                password=make_password(AGENT_PASSWORD if i == 0 else None),
            )
        mine = teams if i == 0 else [teams[i % TEAMS], teams[(i + 3) % TEAMS]]
        user.departments.set(mine)
        agents.append(user)
        agent_teams[user.pk] = [t.pk for t in mine]
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = User.objects.create(
            username=ADMIN_USERNAME, email=f"{ADMIN_USERNAME}@staff.bench.example", role=Role.SUPERVISOR,
            display_name="Bench Supervisor", password=make_password(AGENT_PASSWORD),
        )
        admin.departments.set(teams)
    by_team: dict[int, list[Any]] = {t.pk: [a for a in agents if t.pk in agent_teams[a.pk]] for t in teams}
    return {"teams": teams, "agents": agents, "by_team": by_team, "admin": admin}


# ------------------------------------------------------------------------------------------ customers


def create_customers(rng: random.Random, count: int, *, batch: int = 2000,
                     advance: Callable[[int], None] | None = None) -> list[tuple[int, int, str, str, str]]:
    """Returns (customer id, user id, name, email, phone) per customer."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from kefu.accounts.models import Role, User
    from kefu.customers.models import Channel, Customer, CustomerIdentity, Tier

    out: list[tuple[int, int, str, str, str]] = []
    unusable = make_password(None)
    for start in range(0, count, batch):
        size = min(batch, count - start)
        with transaction.atomic():
            people = []
            for i in range(start, start + size):
                name = text.person_name(rng)
                phone = f"1{rng.randint(3, 9)}{rng.randint(10**8, 10**9 - 1)}"
                people.append((name, f"customer{i + 1}@bench.example", phone))
            users = User.objects.bulk_create(
                [User(username=f"bench-c{start + j + 1}", email=email, display_name=name, role=Role.CUSTOMER,
                      password=unusable) for j, (name, email, _) in enumerate(people)],
                batch_size=batch,
            )
            customers: list[Any] = []
            for user, (name, email, phone) in zip(users, people, strict=True):
                roll = rng.random()
                tier = Tier.VIP if roll < 0.05 else Tier.CORE if roll < 0.10 else Tier.STANDARD
                spend = rng.randint(5000, 80000) if tier == Tier.CORE else rng.randint(0, 4999)
                customers.append(Customer(
                    user_id=user.pk, name=name, email=email, phone=phone, tier=tier, annual_spend=spend,
                    account_ref=f"ACC{start + len(customers) + 1:08d}",
                    language="zh-hans" if rng.random() < 0.7 else "en",
                ))
            customers = Customer.objects.bulk_create(customers, batch_size=batch)
            CustomerIdentity.objects.bulk_create(
                [CustomerIdentity(customer_id=c.pk, channel=Channel.EMAIL, value=c.email) for c in customers],
                batch_size=batch,
            )
        out.extend((c.pk, u.pk, c.name, c.email, c.phone) for c, u in zip(customers, users, strict=True))
        if advance:
            advance(size)
    return out


# ------------------------------------------------------------------------------------------ search index


class SearchIndexLoad:
    """Suspends the per-row search-index maintenance during the load and rebuilds it once at the end."""

    def __init__(self, enabled: bool) -> None:
        from django.db import connection

        self.connection = connection
        self.enabled = enabled
        self.saved: list[str] = []

    def __enter__(self) -> SearchIndexLoad:
        if not self.enabled:
            return self
        with self.connection.cursor() as cur:
            if self.connection.vendor == "sqlite":
                cur.execute("SELECT sql FROM sqlite_master"
                            " WHERE type='trigger' AND tbl_name='tickets_ticketsearchdocument'")
                self.saved = [row[0] for row in cur.fetchall()]
                for sql in self.saved:
                    name = sql.split()[2]
                    cur.execute(f"DROP TRIGGER IF EXISTS {name}")
            elif self.connection.vendor == "postgresql":
                cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = 'tickets_search_gin'")
                rows = cur.fetchall()
                self.saved = [row[1] for row in rows]
                for name, _ in rows:
                    cur.execute(f"DROP INDEX IF EXISTS {name}")
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        with self.connection.cursor() as cur:
            if self.connection.vendor == "sqlite":
                cur.execute("INSERT INTO tickets_ticket_fts(tickets_ticket_fts) VALUES ('rebuild')")
                # The rebuild leaves the index in many segments (merges are off the write path, tickets
                # migration 0004); the first new tickets then met FTS5's crisis merge of them inside their
                # write turn, and the first run after a 100k load created 146-160 tickets/s instead of 383
                # (bench/results/intake-2026-12-05e/fts-optimize/experiment.sh).
                cur.execute("INSERT INTO tickets_ticket_fts(tickets_ticket_fts) VALUES ('optimize')")
                for sql in self.saved:
                    cur.execute(sql)
            elif self.connection.vendor == "postgresql":
                # Fire the deferred foreign-key checks first: PostgreSQL refuses CREATE INDEX on a table
                # with pending trigger events in the same transaction (as in the tests).
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cur.execute("SET maintenance_work_mem = '512MB'")
                for sql in self.saved:
                    cur.execute(sql)


class FastLoadSettings:
    """Load-only connection settings, restored on exit (the tests share the connection)."""

    def __enter__(self) -> FastLoadSettings:
        import sqlite3

        from django.db import connection

        self.connection = connection
        self.restore: list[str] = []
        self.features = connection.features.__dict__.get("max_query_params")
        with connection.cursor() as cur:
            if connection.vendor == "sqlite" and not connection.in_atomic_block:
                cur.execute("PRAGMA synchronous")
                self.restore.append(f"PRAGMA synchronous={int(cur.fetchone()[0])}")
                cur.execute("PRAGMA synchronous=OFF")
            if connection.vendor == "sqlite":
                # Django assumes 999 bound parameters; SQLite >= 3.32 allows 32766, so batches get bigger.
                limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
                connection.features.max_query_params = min(limit, 32766)
            elif connection.vendor == "postgresql":
                cur.execute("SHOW synchronous_commit")
                self.restore.append(f"SET synchronous_commit = {cur.fetchone()[0]}")
                cur.execute("SET synchronous_commit = off")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.features is None:
            self.connection.features.__dict__.pop("max_query_params", None)
        else:
            self.connection.features.max_query_params = self.features
        if self.connection.connection is not None:
            with self.connection.cursor() as cur:
                for sql in self.restore:
                    cur.execute(sql)


# ------------------------------------------------------------------------------------------ tickets

_WORD_TOKENS: dict[str, list[str]] = {}


def fast_document(*parts: str) -> str:
    """``kefu.core.textsearch.document`` with the tokens of each whitespace-separated piece memoised.

    Tokens never span whitespace (the token pattern has none, and normalisation cannot join two pieces),
    so the result is identical — bench/tests checks it on generated text — and about 3x faster here.
    """
    from kefu.core import textsearch

    text_ = " ".join(p for p in parts if p)[: textsearch.MAX_DOCUMENT_CHARS]
    out: list[str] = []
    cache = _WORD_TOKENS
    for piece in text_.split():
        toks = cache.get(piece)
        if toks is None:
            toks = textsearch.tokens(piece)
            if len(cache) < 500_000:
                cache[piece] = toks
        out.extend(toks)
    return " ".join(dict.fromkeys(out))



def generate(*, tickets: int, messages: int, customers: int, seed: int = 1, chunk: int = 5000,
             progress: bool = False, rebuild_index: bool = True, now: dt.datetime | None = None) -> dict[str, Any]:
    """Load the data set into the configured database; returns timings. Django must be set up."""
    from django.db import connection, transaction

    from kefu.core import textsearch
    from kefu.tickets.models import Category, Message, Ticket, TicketEvent, TicketSearchDocument

    if messages < 1:
        raise ValueError("--messages must be at least 1 (the first message is the description)")
    if Ticket.objects.exists():
        raise SystemExit(f"the database already holds {Ticket.objects.count()} tickets; use an empty database")
    rng = random.Random(seed)
    moment = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    bar = _Progress(progress, tickets, customers)
    with bar, FastLoadSettings():
        t0 = time.perf_counter()
        staff = ensure_staff(rng)
        categories = list(Category.objects.filter(active=True).values_list("pk", "default_priority"))
        people = create_customers(rng, customers, advance=bar.customers)
        timings["staff_and_customers"] = time.perf_counter() - t0

        teams = [t.pk for t in staff["teams"]]
        agents = staff["agents"]
        by_team = {k: [a.pk for a in v] for k, v in staff["by_team"].items()}
        span = dt.timedelta(days=365).total_seconds()
        pool = text.PhrasePool(rng)
        block_times: list[float] = []
        block_start = time.perf_counter()
        loaded = 0
        t0 = time.perf_counter()
        with SearchIndexLoad(rebuild_index):
            for start in range(0, tickets, chunk):
                size = min(chunk, tickets - start)
                with transaction.atomic():
                    _load_chunk(rng, pool, start, size, tickets, messages, span, moment, people, teams, agents, by_team,
                                categories, Ticket, Message, TicketEvent, TicketSearchDocument, textsearch)
                loaded += size
                bar.tickets(size)
                while loaded >= (len(block_times) + 1) * 10000:
                    now_t = time.perf_counter()
                    block_times.append(now_t - block_start)
                    block_start = now_t
            _move_id_sequence_past(Ticket)
            timings["tickets"] = time.perf_counter() - t0
            t0 = time.perf_counter()
        timings["search_index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("ANALYZE")
                timings["analyze"] = time.perf_counter() - t0
            elif not connection.in_atomic_block:  # (the tests load inside their transaction)
                # The search index is rebuilt in one transaction, which grows the write-ahead log file to 6 GB
                # at 1M tickets, and SQLite keeps the file at that size: the load leaves one file instead.
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                timings["checkpoint"] = time.perf_counter() - t0

    total = time.perf_counter() - started
    return {
        "database": connection.vendor,
        "tickets": tickets,
        "messages_per_ticket": messages,
        "customers": customers,
        "seed": seed,
        "chunk": chunk,
        "seconds": {k: round(v, 2) for k, v in timings.items()} | {"total": round(total, 2)},
        "tickets_per_second": round(tickets / timings["tickets"], 1) if timings["tickets"] else None,
        "seconds_per_10k": [round(x, 2) for x in block_times],
        "rows": {
            "tickets": tickets, "messages": tickets * messages, "customers": customers,
            "events": TicketEvent.objects.count(),
        },
    }


def _load_chunk(rng: random.Random, pool: text.PhrasePool, start: int, size: int, total: int, k: int, span: float,
                moment: dt.datetime,
                people: list[tuple[int, int, str, str, str]], teams: list[int], agents: list[Any],
                by_team: dict[int, list[int]], categories: list[tuple[int, str]],
                Ticket: Any, Message: Any, TicketEvent: Any, TicketSearchDocument: Any, textsearch: Any) -> None:
    rows = []
    objs = []
    for i in range(start, start + size):
        # created_at grows with the ticket number, spread over the past year, with jitter.
        offset = span * (1 - (i + rng.random()) / total)
        created = moment - dt.timedelta(seconds=offset)
        person = people[rng.randrange(len(people))]
        status, reopened = _status(rng)
        team = rng.choice(teams) if rng.random() < 0.9 else None
        owner = None
        if reopened or rng.random() < OWNER_SHARE:
            owner = rng.choice(by_team[team]) if team else rng.choice(agents).pk
        if owner is None and status == "open":
            status = "new"
        category, default_priority = rng.choice(categories) if categories else (None, "normal")
        priority = default_priority if rng.random() < 0.6 else _weighted(rng, PRIORITIES)
        channel = _weighted(rng, CHANNELS)
        subject = pool.subject(rng)
        bodies = [pool.body(rng, agent=j % 2 == 1) for j in range(k)]
        times = []
        t = created
        for _ in range(k):
            times.append(min(t, moment))
            t = t + dt.timedelta(seconds=rng.randint(300, 72000))
        last = times[-1]
        resolved_at = closed_at = None
        if status in ("resolved", "closed") or reopened:
            resolved_at = min(last + dt.timedelta(minutes=rng.randint(5, 600)), moment)
        if status == "closed" or reopened:
            closed_at = min(resolved_at + dt.timedelta(hours=rng.randint(1, 72)), moment)  # type: ignore[operator]
        updated = max(x for x in (last, resolved_at, closed_at) if x is not None)
        ticket = Ticket(
            tracking_token=f"{rng.getrandbits(192):048x}",
            subject=subject, description=bodies[0], customer_id=person[0], channel=channel,
            language="zh-hans" if rng.random() < 0.7 else "en", category_id=category, priority=priority,
            complexity=_weighted(rng, [("simple", 70), ("complex", 25), ("difficult", 5)]), status=status,
            owner_id=owner, team_id=team, what=subject,
            created_at=created, updated_at=updated, accepted_at=times[0] if owner else None,
            first_response_at=times[1] if k > 1 and owner else None, resolved_at=resolved_at,
            closed_at=None if reopened else closed_at, reopened_count=reopened,
            last_customer_message_at=times[-1] if k % 2 == 1 else times[-2] if k > 1 else times[0],
            message_count=k,
        )
        objs.append(ticket)
        rows.append((ticket, person, owner, bodies, times, resolved_at, closed_at, reopened))
    # The ids are given, not returned: the loader is the only writer and the table starts empty (generate()
    # moves the id sequence past them at the end).
    for number, ticket in enumerate(objs, start=start + 1):
        ticket.pk = number
    _insert_instances(Ticket, objs, with_pk=True)

    msgs = []
    events = []
    docs = []
    for ticket, person, owner, bodies, times, resolved_at, closed_at, reopened in rows:
        replier = owner or agents[ticket.pk % len(agents)].pk
        for j, (body, at) in enumerate(zip(bodies, times, strict=True)):
            customer_turn = j % 2 == 0
            msgs.append(Message(
                ticket_id=ticket.pk, kind="customer" if customer_turn else "reply",
                author_id=person[1] if customer_turn else replier, channel=ticket.channel, body_text=body,
                created_at=at,
            ))
        events.append(TicketEvent(ticket_id=ticket.pk, type="created", actor_id=person[1], public=True,
                                  payload={"channel": ticket.channel, "subject": ticket.subject},
                                  at=ticket.created_at))
        if owner:
            events.append(TicketEvent(ticket_id=ticket.pk, type="status_changed", actor_id=owner, public=True,
                                      payload={"before": "new", "after": "open", "action": "accept"},
                                      at=ticket.accepted_at))
        if ticket.first_response_at:  # as kefu.tickets.services.reply_to_customer records it
            events.append(TicketEvent(ticket_id=ticket.pk, type="replied", actor_id=owner, public=True,
                                      payload={"message_id": None, "first_response": True},
                                      at=ticket.first_response_at))
        if resolved_at:
            events.append(TicketEvent(ticket_id=ticket.pk, type="status_changed", actor_id=owner, public=True,
                                      payload={"before": "open", "after": "resolved", "action": "resolve"},
                                      at=resolved_at))
        if closed_at:
            events.append(TicketEvent(ticket_id=ticket.pk, type="status_changed", actor_id=person[1], public=True,
                                      payload={"before": "resolved", "after": "closed", "action": "confirm"},
                                      at=closed_at))
        if reopened:
            events.append(TicketEvent(ticket_id=ticket.pk, type="status_changed", actor_id=owner, public=True,
                                      payload={"before": "closed", "after": "open", "action": "reopen"},
                                      at=ticket.updated_at))
        # The same inputs as kefu.tickets.services.reindex_ticket.
        docs.append(TicketSearchDocument(ticket_id=ticket.pk, tokens=fast_document(
            ticket.number, ticket.subject, person[2], person[3], person[4], ticket.description, *bodies[:50],
        )))
    _insert_instances(Message, msgs)
    _insert_instances(TicketEvent, events)
    _insert_instances(TicketSearchDocument, docs)


def _insert_instances(model: Any, objs: list[Any], *, with_pk: bool = False) -> None:
    """Insert unsaved instances as plain rows: bulk_create spent three quarters of a load compiling SQL."""
    from kefu.core.bulk import insert_rows

    fields = [f for f in model._meta.concrete_fields if with_pk or f is not model._meta.auto_field]
    insert_rows(model, [f.name for f in fields], [[getattr(o, f.attname) for f in fields] for o in objs])


def _move_id_sequence_past(model: Any) -> None:
    """After inserts with given ids, the next ticket opened by the product must get the next number."""
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cur:
        for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
            cur.execute(sql)


class _Progress:
    def __init__(self, enabled: bool, tickets: int, customers: int) -> None:
        self.enabled = enabled
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(),
                                     console=Console(stderr=True))
            self.c_task = self.progress.add_task("customers", total=customers)
            self.t_task = self.progress.add_task("tickets", total=tickets)

    def __enter__(self) -> _Progress:
        if self.enabled:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)

    def customers(self, n: int) -> None:
        if self.enabled:
            self.progress.advance(self.c_task, n)

    def tickets(self, n: int) -> None:
        if self.enabled:
            self.progress.advance(self.t_task, n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--customers", type=int, default=None, help="default: tickets / 5")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=5000, help="tickets per transaction")
    parser.add_argument("--database-url", default=None, help="default: SQLite in --data-dir")
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "sqlite"),
                        help="KEFU_DATA_DIR (the SQLite file and the secret key live here)")
    parser.add_argument("--no-index-rebuild", action="store_true",
                        help="keep the per-row search-index triggers / GIN index during the load")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--output", default=None, help="also write the JSON summary here")
    args = parser.parse_args(argv)
    configure(args.database_url, args.data_dir)
    Path(os.environ["KEFU_DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    import django
    from django.core.management import call_command

    django.setup()
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - t0
    result = generate(tickets=args.tickets, messages=args.messages,
                      customers=args.customers or max(1, args.tickets // 5), seed=args.seed, chunk=args.chunk,
                      progress=not args.no_progress, rebuild_index=not args.no_index_rebuild)
    result["seconds"]["migrate"] = round(migrate_s, 2)
    result["command"] = " ".join(["python", "bench/generate.py", *(argv if argv is not None else sys.argv[1:])])
    out = json.dumps(result, indent=2, ensure_ascii=False)
    print(out)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
