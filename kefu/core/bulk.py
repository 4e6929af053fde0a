"""Plain inserts for the few paths where Django's save()/bulk_create() spent more time building SQL than
the database spent storing the rows: the SLA sweep (set-based), and the intake transaction, during which
on SQLite every other writer waits its turn (kefu.core.sqlite)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

CONVERTED = frozenset({"JSONField", "DateTimeField", "DateField", "DecimalField"})


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT the rows (values in `fields` order) in one executemany; no save(), no signals, no ids back.

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
    if params:
        with real.cursor() as cursor:
            cursor.executemany(sql, params)
    return len(params)


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
_statements: dict[tuple[type[models.Model], str], tuple[str, list[models.Field[Any, Any]]]] = {}
_statements_lock = threading.Lock()


def insert_one(obj: M) -> M:
    """INSERT one unsaved instance and set its primary key; no save(), no signals.

    Field defaults and `auto_now_add` apply as in save(); related objects given as instances must have
    been saved (their keys are taken now).
    """
    real = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert_statement(type(obj), real)
    pk = obj._meta.pk
    assert pk is not None
    with real.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {real.ops.quote_name(str(pk.column))}", _values(obj, fields, real))
        setattr(obj, pk.attname, cursor.fetchone()[0])
    obj._state.adding, obj._state.db = False, real.alias
    return obj


def insert_many(objects: Sequence[models.Model]) -> None:
    """INSERT unsaved instances of one model in one executemany; no ids back, so the instances stay
    unsaved (use them for nothing but what they already hold)."""
    if not objects:
        return
    real = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert_statement(type(objects[0]), real)
    params = [_values(obj, fields, real) for obj in objects]
    with real.cursor() as cursor:
        cursor.executemany(sql, params)


def _values(obj: models.Model, fields: list[models.Field[Any, Any]], real: Any) -> list[Any]:
    obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]  # as bulk_create
    return [field.get_db_prep_save(field.pre_save(obj, True), real) for field in fields]


def _insert_statement(model: type[models.Model], real: Any) -> tuple[str, list[models.Field[Any, Any]]]:
    key = (model, real.vendor)
    if key not in _statements:
        with _statements_lock:
            opts = model._meta
            fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field]
            _statements[key] = (_insert_sql(model, fields, real), fields)
    return _statements[key]


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
    with real.cursor() as cursor:
        cursor.execute(sql, [*params, pk])
