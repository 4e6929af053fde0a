"""Plain inserts for the few paths where Django's save()/bulk_create() spent more time building SQL than
the database spent storing the rows: the SLA sweep (set-based), and the intake transaction, during which
on SQLite every other writer waits its turn (kefu.core.sqlite)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

from kefu.core.prepared import held_writes, hold_writes, statement_cursor

CONVERTED = frozenset({"JSONField", "DateTimeField", "DateField", "DecimalField"})


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT the rows (values in `fields` order) in as few statements as the backend allows; no save(), no
    signals, no ids back.

    Values go through each field's own conversion (JSON, datetimes, foreign keys given as ids).
    """
    columns = _concrete(model, fields)
    real = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs per access
    sql = _insert_sql(model, columns, real)
    # Only values that need it are converted (JSON to text, datetimes to the backend's form).
    converters = [_converter(column, real) if column.get_internal_type() in CONVERTED else None
                  for column in columns]
    params = [[convert(value) if convert else value for convert, value in zip(converters, row, strict=True)]
              for row in rows]
    _execute_rows(real, sql, params)
    return len(params)


# PostgreSQL allows 65,535 parameters a statement; a few hundred rows already amortise its cost. Past
# COPY_FROM rows (outside a pipeline, where COPY cannot run) the rows are streamed with COPY instead: a long
# multi-row statement is parsed anew each time by psycopg (it caches short statements only), and that had
# cost the SLA sweep more than the server spent storing the rows.
ROWS_PER_STATEMENT = 500
COPY_FROM = 50


def _execute_rows(real: Any, sql: str, params: Sequence[Sequence[Any]]) -> None:
    """Insert the rows: one executemany on SQLite, whose in-process statement is cheap to re-run; on
    PostgreSQL one multi-row VALUES for a few rows, COPY for many."""
    if not params:
        return
    if real.vendor != "postgresql":
        with real.cursor() as cursor:
            cursor.executemany(sql, params)
        return
    head, row = sql.split(" VALUES ", 1)
    table = head.removeprefix("INSERT INTO ").split(" (", 1)[0]
    held = held_writes()
    if held is not None and len(params) < COPY_FROM and held.takes(len(params) * len(params[0])):
        held.add(table, f"{head} VALUES {', '.join([row] * len(params))}", [v for values in params for v in values])
        return
    with statement_cursor(real) as cursor:
        if len(params) >= COPY_FROM and not cursor.pipelined:
            with cursor.copy(f"COPY {head.removeprefix('INSERT INTO ')} FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
            return
        width = max(1, min(ROWS_PER_STATEMENT, 65_535 // max(1, len(params[0]))))
        for start in range(0, len(params), width):
            chunk = params[start:start + width]
            cursor.execute(f"{head} VALUES {', '.join([row] * len(chunk))}",
                           [value for values in chunk for value in values])


def _converter(column: models.Field[Any, Any], real: Any) -> Any:
    known: dict[Any, Any] = {}  # a batch repeats its timestamps: convert each distinct one once

    def convert(value: Any) -> Any:
        try:
            return known[value]
        except KeyError:
            known[value] = converted = column.get_db_prep_save(value, real)
            return converted
        except TypeError:  # unhashable (JSON objects)
            return column.get_db_prep_save(value, real)

    return convert


M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class _Column:
    field: models.Field[Any, Any]
    attname: str
    pre_save: bool  # the field computes its value on save (auto_now_add, files)
    # Values of these exact types are already what the field's conversion would give (str for text, int for
    # integers and integer keys, bool for booleans): skipping the conversion was most of the per-ticket
    # cost of building rows. Any other value goes through the field.
    ready: frozenset[type]


_statements: dict[tuple[type[models.Model], str], tuple[str, list[_Column]]] = {}
_statements_lock = threading.Lock()
READY_TYPES = {
    "CharField": str, "TextField": str, "SlugField": str, "EmailField": str,
    "IntegerField": int, "BigIntegerField": int, "SmallIntegerField": int, "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int, "PositiveBigIntegerField": int, "AutoField": int, "BigAutoField": int,
    "BooleanField": bool, "FloatField": float,
}


def insert_one(obj: M) -> M:
    """INSERT one unsaved instance and set its primary key; no save(), no signals.

    Field defaults and `auto_now_add` apply as in save(); related objects given as instances must have
    been saved (their keys are taken now).
    """
    real = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert_statement(type(obj), real)
    pk = obj._meta.pk
    assert pk is not None
    statement, values = f"{sql} RETURNING {real.ops.quote_name(str(pk.column))}", _values(obj, fields, real)
    held = held_writes()
    if held is not None and held.statements and held.takes(len(values)):  # in `together()`: the held go with it
        held.add(real.ops.quote_name(str(obj._meta.db_table)), statement, values)
        statement, values = held.take()  # type: ignore[misc]  # not None: it holds this row
    with statement_cursor(real) as cursor:
        cursor.execute(statement, values)
        setattr(obj, pk.attname, cursor.fetchone()[0])
    obj._state.adding, obj._state.db = False, real.alias
    return obj


def insert_many(objects: Sequence[models.Model]) -> None:
    """INSERT unsaved instances of one model together (as `insert_rows`); no ids back, so the instances stay
    unsaved (use them for nothing but what they already hold)."""
    if not objects:
        return
    real = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert_statement(type(objects[0]), real)
    _execute_rows(real, sql, [_values(obj, fields, real) for obj in objects])


def _values(obj: models.Model, columns: list[_Column], real: Any) -> list[Any]:
    obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]  # as bulk_create
    values = []
    for column in columns:
        value = column.field.pre_save(obj, True) if column.pre_save else getattr(obj, column.attname)
        if type(value) not in column.ready:
            value = column.field.get_db_prep_save(value, real)
        values.append(value)
    return values


def _insert_statement(model: type[models.Model], real: Any) -> tuple[str, list[_Column]]:
    key = (model, real.vendor)
    if key not in _statements:
        with _statements_lock:
            opts = model._meta
            fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field]
            _statements[key] = (_insert_sql(model, fields, real), [_column(f) for f in fields])
    return _statements[key]


def _column(field: models.Field[Any, Any]) -> _Column:
    if isinstance(field, models.DateField):  # DateTimeField too: only auto_now(_add) compute on save
        pre_save = bool(field.auto_now or field.auto_now_add)
    else:
        pre_save = type(field).pre_save is not models.Field.pre_save
    kind = (field.target_field if isinstance(field, models.ForeignKey) else field).get_internal_type()
    ready = READY_TYPES.get(kind)
    return _Column(field, field.attname, pre_save, frozenset({ready, type(None)}) if ready else frozenset())


def _insert_sql(model: type[models.Model], columns: Sequence[models.Field[Any, Any]], real: Any) -> str:
    quote = real.ops.quote_name
    # Table and column names come from the model's metadata, never from input; values are parameters.
    return (f"INSERT INTO {quote(str(model._meta.db_table))} ({', '.join(quote(str(c.column)) for c in columns)})"  # noqa: S608
            f" VALUES ({', '.join(['%s'] * len(columns))})")


def _concrete(model: type[models.Model], names: Iterable[str]) -> list[models.Field[Any, Any]]:
    opts = model._meta
    names = list(names)
    fields = [f for name in names if isinstance(f := opts.get_field(name), models.Field) and f in opts.concrete_fields]
    if len(fields) != len(names):
        raise ValueError("plain inserts and updates take concrete fields only")
    return fields


def update_one(model: type[models.Model], pk: Any, **values: Any) -> None:
    """UPDATE columns of one row by primary key; no save(), no signals."""
    real = connections[DEFAULT_DB_ALIAS]
    opts, quote = model._meta, real.ops.quote_name
    fields = _concrete(model, values)
    assert opts.pk is not None
    assigned = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {quote(opts.db_table)} SET {assigned} WHERE {quote(str(opts.pk.column))} = %s"  # noqa: S608
    params = [f.get_db_prep_save(v, real) for f, v in zip(fields, values.values(), strict=True)]
    held, table = held_writes(), quote(opts.db_table)
    # The parts of one statement do not see each other's rows: an update waits for held writes to its table.
    if held is not None and table not in held.tables and held.takes(len(params) + 1):
        held.add(table, sql, [*params, pk])
        return
    with statement_cursor(real) as cursor:
        cursor.execute(sql, [*params, pk])


@contextlib.contextmanager
def pipelined() -> Iterator[None]:
    """On PostgreSQL, send the block's statements without waiting for each answer (psycopg's pipeline
    mode): a run of plain inserts costs one round trip instead of one each. A read in the block waits
    for what was sent before it; a failed statement raises at that read or when the block ends, so open
    the block inside the transaction (`with transaction.atomic(), pipelined():`) for the transaction to
    see the error. Elsewhere (SQLite runs in-process) it changes nothing."""
    real = connections[DEFAULT_DB_ALIAS]
    if real.vendor != "postgresql":
        yield
        return
    real.ensure_connection()
    with real.wrap_database_errors, real.connection.pipeline():  # psycopg's errors as Django's
        yield


@contextlib.contextmanager
def together() -> Iterator[None]:
    """On PostgreSQL, send the block's `insert_many`, `insert_rows` (below COPY_FROM rows) and `update_one`
    as one statement: at the end of the block, with the next `insert_one` (whose key comes back), or before
    any other statement in the block (a read, the ORM), which so sees them. Seven inserts sent apart cost
    psycopg and the server about four times what one statement holding them costs. An error in the block
    drops what it still holds: open it inside the transaction (`with transaction.atomic(), together():`).
    On SQLite it changes nothing."""
    with hold_writes(connections[DEFAULT_DB_ALIAS]):
        yield
