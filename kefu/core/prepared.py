"""Reads of fixed shape on the intake path, compiled to SQL once per process.

Django builds and compiles a queryset on every call. For the few reads every API request or new ticket
makes (the token, the customer by email, the next owner) that compilation cost more than the database
spent answering (0.3–0.7 ms each for a join, measured with py-spy on `POST /api/v1/tickets`). A
`Prepared` read builds its queryset once, with placeholder arguments, keeps the SQL, and afterwards only
swaps the arguments in; rows become model instances (with their `select_related` objects) through
`Model.from_db` and the fields' own converters, as Django's own iterator does.

On PostgreSQL the statement is also prepared on the server, once per connection (`statement_cursor`):
planning the owner's three-table join took the server longer (~0.8 ms) than answering it.

Only what a `select_related` queryset of plain fields returns is supported: no annotations, no
`only()`/`defer()`, no prefetching. The queryset must be sliced (`[:1]`, `[:n]`) so that the statement
has a bound.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class _Part:
    """One model of the row: its columns, and how it hangs off its parent."""

    model: type[models.Model]
    start: int
    attnames: tuple[str, ...]
    pk_index: int
    parent: int | None  # index of the parent part
    local_setter: Callable[[Any, Any], None] | None
    remote_setter: Callable[[Any, Any], None] | None


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[int | None, ...]  # per parameter: the argument it takes, or None for a constant
    converters: dict[int, tuple[list[Any], Any]]
    parts: tuple[_Part, ...]


class Prepared(Generic[M]):
    def __init__(self, build: Callable[..., models.QuerySet[M]], arguments: Sequence[type]) -> None:
        """`build(*args)` returns the queryset; `arguments` are the types of its arguments (str or int)."""
        self._build, self._arguments = build, tuple(arguments)
        self._statements: dict[str, _Statement] = {}
        self._lock = threading.Lock()

    def all(self, *args: Any) -> list[M]:
        real = connections[DEFAULT_DB_ALIAS]
        statement = self._statements.get(real.vendor) or self._prepare(real)
        params = [args[slot] if slot is not None else constant
                  for slot, constant in zip(statement.slots, statement.params, strict=True)]
        with statement_cursor(real) as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        return [self._instance(statement, list(row), real.alias) for row in rows]

    def first(self, *args: Any) -> M | None:
        found = self.all(*args)
        return found[0] if found else None

    def _prepare(self, real: Any) -> _Statement:
        with self._lock:
            if real.vendor in self._statements:
                return self._statements[real.vendor]
            placeholders = [_placeholder(kind, i) for i, kind in enumerate(self._arguments)]
            compiler = self._build(*placeholders).query.get_compiler(connection=real)
            sql, params = compiler.as_sql()
            if compiler.annotation_col_map or not compiler.query.is_sliced:
                raise ValueError("Prepared takes sliced querysets of plain fields")
            slots = tuple(placeholders.index(p) if p in placeholders else None for p in params)
            missing = set(range(len(placeholders))) - {s for s in slots if s is not None}
            if missing:
                raise ValueError(f"arguments {sorted(missing)} do not reach the SQL")
            if real.vendor == "postgresql":
                sql, params, slots = _constants_inlined(sql, params, slots, real)
            columns = [column for column, _, _ in compiler.select]
            statement = _Statement(sql=sql, params=tuple(params), slots=slots,
                                   converters=compiler.get_converters(columns),
                                   parts=tuple(_parts(compiler.klass_info, compiler.select)))
            self._statements[real.vendor] = statement
            return statement

    @staticmethod
    def _instance(statement: _Statement, row: list[Any], alias: str) -> M:
        for position, (converters, expression) in statement.converters.items():
            value = row[position]
            for convert in converters:
                value = convert(value, expression, None)
            row[position] = value
        made: list[Any] = []
        for part in statement.parts:
            values = row[part.start:part.start + len(part.attnames)]
            parent = made[part.parent] if part.parent is not None else None
            if part.parent is not None and (parent is None or values[part.pk_index] is None):
                instance = None  # a nullable relation that is empty (or hangs off one)
            else:
                instance = part.model.from_db(alias, part.attnames, values)
            if parent is not None:
                assert part.local_setter is not None and part.remote_setter is not None
                part.local_setter(parent, instance)
                if instance is not None:
                    part.remote_setter(instance, parent)
            made.append(instance)
        return made[0]  # type: ignore[no-any-return]


def _constants_inlined(sql: str, params: Sequence[Any], slots: Sequence[int | None],
                       real: Any) -> tuple[str, tuple[Any, ...], tuple[int | None, ...]]:
    """The SQL with the queryset's constants written in, leaving parameters only for the arguments.

    A statement prepared on PostgreSQL is soon run with a generic plan, made without the parameters'
    values: with `role = $2` the planner could not tell that few users are agents among thousands of
    customers, and the owner's read went from 0.2 to 3 ms. Constants it can see plan as before.
    """
    from psycopg import sql as pgsql

    if "%%" in sql:
        raise ValueError("Prepared cannot inline constants into SQL that holds a literal %")
    real.ensure_connection()
    pieces = tuple("%s" if slot is not None else pgsql.Literal(value).as_string(real.connection).replace("%", "%%")
                   for value, slot in zip(params, slots, strict=True))
    kept = [(value, slot) for value, slot in zip(params, slots, strict=True) if slot is not None]
    return sql % pieces, tuple(v for v, _ in kept), tuple(s for _, s in kept)


@contextlib.contextmanager
def statement_cursor(real: Any) -> Iterator[Any]:
    """A cursor for statements of fixed text run again and again (hot reads, plain inserts).

    Django's cursor on SQLite. On PostgreSQL a psycopg raw cursor (each statement `numbered` once) that
    sends the values apart from the SQL and prepares each statement on the server once per connection
    (settings enable prepared statements on the connection; Django's own cursors put the values into the
    SQL text and are never prepared), so the server neither parses nor plans it again. What runs through
    it bypasses Django's query log and execute wrappers.
    """
    if real.vendor != "postgresql":
        with real.cursor() as cursor:
            yield cursor
        return
    real.ensure_connection()
    with real.wrap_database_errors:
        held = _held.batch
        if held is not None and (statement := held.take()) is not None:
            with _raw_cursor(real.connection) as cursor:  # what was held goes first, so that this statement sees it
                _Preparing(cursor).execute(*statement)
        with _raw_cursor(real.connection) as cursor:
            yield _Preparing(cursor)


class _KeptCursor(threading.local):
    cursor: Any = None
    busy: bool = False


_kept = _KeptCursor()


@contextlib.contextmanager
def _raw_cursor(connection: Any) -> Iterator[Any]:
    """A psycopg raw cursor on the connection.

    Outside a pipeline the thread's one such cursor is used again (a new one while it is open): making a
    cursor, with its own copy of the adapters, cost more than some statements. It reads timestamps with
    psycopg's compiled loader: Django registers one written in Python on every connection, and psycopg's
    gives the same values (in the session's time zone, UTC) seven times faster. In a pipeline each
    statement gets a plain cursor of its own, because its results arrive later and go to the cursor that
    sent it.
    """
    import psycopg  # installed with PostgreSQL support only

    if connection.pgconn.pipeline_status:
        with psycopg.RawCursor(connection) as cursor:
            yield cursor
        return
    cursor = _kept.cursor
    if _kept.busy or cursor is None or cursor.closed or cursor.connection is not connection:
        cursor = psycopg.RawCursor(connection)
        from psycopg.types.datetime import TimestamptzLoader

        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        if not _kept.busy:
            _kept.cursor = cursor
    if cursor is not _kept.cursor:
        with cursor:
            yield cursor
        return
    _kept.busy = True
    try:
        yield cursor
    finally:
        _kept.busy = False


class HeldWrites:
    """Plain inserts and updates held back to go out as one statement (kefu.core.bulk.together): each
    statement costs the server and psycopg more than its rows do, and intake writes eight tables."""

    MAX_PARAMS = 65_535  # PostgreSQL's limit for one statement

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.params: list[Any] = []
        self.tables: set[str] = set()

    def takes(self, params: int) -> bool:
        return len(self.params) + params <= self.MAX_PARAMS

    def add(self, table: str, sql: str, params: Sequence[Any]) -> None:
        self.statements.append(sql)
        self.params.extend(params)
        self.tables.add(table)

    def take(self) -> tuple[str, list[Any]] | None:
        """The held writes as one statement (data-modifying WITH parts before the last), and forget them."""
        if not self.statements:
            return None
        *first, last = self.statements
        params = self.params
        self.statements, self.params, self.tables = [], [], set()
        parts = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(first))
        return (f"WITH {parts} {last}" if parts else last), params


class _HeldPerThread(threading.local):
    batch: HeldWrites | None = None  # Django's connections are per thread too


_held = _HeldPerThread()


def held_writes() -> HeldWrites | None:
    """The writes being held on this thread's connection, when a `hold_writes` block is open."""
    return _held.batch


@contextlib.contextmanager
def hold_writes(real: Any) -> Iterator[None]:
    """Hold back what kefu.core.bulk writes in the block (PostgreSQL only) and send it as one statement at
    the end, or earlier, before any other statement: Django's (through an execute wrapper) or a plain one
    (through `statement_cursor`). An error in the block drops what is still held: open the block inside
    the transaction that the error undoes."""
    # Outside a transaction a commit (not a statement) could overtake what is held.
    if real.vendor != "postgresql" or _held.batch is not None or not real.in_atomic_block:
        yield
        return
    _held.batch = HeldWrites()
    try:
        with real.execute_wrapper(_send_held_first):
            yield
            _send_held(real)
    finally:
        _held.batch = None


def _send_held(real: Any) -> None:
    if _held.batch is not None and _held.batch.statements:
        with statement_cursor(real):
            pass  # entering sends what is held


def _send_held_first(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    _send_held(context["connection"])
    return execute(sql, params, many, context)


class _Preparing:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self._cursor.execute(numbered(sql), params, prepare=True)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    @property
    def pipelined(self) -> bool:
        return bool(self._cursor.connection.pgconn.pipeline_status)

    def copy(self, statement: str) -> Any:
        return self._cursor.copy(statement)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()  # type: ignore[no-any-return]


_PERCENT = re.compile(r"%(.?)", re.DOTALL)


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """The statement with PostgreSQL's own placeholders (`$1`, `$2` …) for psycopg's `%s`, and `%%` as `%`.

    psycopg converts `%s` statements on every call and caches the result only for statements of at most 50
    parameters: the intake's writes sent together (kefu.core.bulk.together) have more, and were parsed
    anew for every ticket. Statements given this way go to a raw cursor, which sends them as they are.
    """
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        if match.group(1) != "s":
            raise ValueError(f"only %s placeholders are supported, not %{match.group(1)}")
        count += 1
        return f"${count}"

    return _PERCENT.sub(replace, sql)


def _placeholder(kind: type, index: int) -> Any:
    if kind is int:
        return -(2**53) + index  # no real id is negative
    return f"\x00kefu-argument-{index}\x00"


def _parts(klass_info: dict[str, Any], select: list[Any], parent: int | None = None,
           out: list[_Part] | None = None, info: dict[str, Any] | None = None) -> list[_Part]:
    out = [] if out is None else out
    fields = klass_info["select_fields"]
    if fields != list(range(fields[0], fields[0] + len(fields))):
        raise ValueError("Prepared expects each model's columns side by side")
    model = klass_info["model"]
    attnames = tuple(select[i][0].target.attname for i in fields)
    out.append(_Part(model=model, start=fields[0], attnames=attnames, pk_index=attnames.index(model._meta.pk.attname),
                     parent=parent,
                     local_setter=info["local_setter"] if info else None,
                     remote_setter=info["remote_setter"] if info else None))
    me = len(out) - 1
    for related in klass_info.get("related_klass_infos", []):
        _parts(related, select, me, out, related)
    return out
