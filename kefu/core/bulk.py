"""Plain multi-row inserts for the few set-based paths (the SLA sweep) where Django's bulk_create spent
more time building SQL than the database spent storing the rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

CONVERTED = frozenset({"JSONField", "DateTimeField", "DateField", "DecimalField"})


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT the rows (values in `fields` order) in one executemany; no save(), no signals, no ids back.

    Values go through each field's own conversion (JSON, datetimes, foreign keys given as ids).
    """
    opts = model._meta
    columns = [field for name in fields if isinstance(field := opts.get_field(name), models.Field)]
    if len(columns) != len(fields):
        raise ValueError("insert_rows takes concrete fields only")
    quote = connection.ops.quote_name
    # Table and column names come from the model's metadata, never from input; values are parameters.
    sql = (f"INSERT INTO {quote(str(opts.db_table))} ({', '.join(quote(str(c.column)) for c in columns)})"  # noqa: S608
           f" VALUES ({', '.join(['%s'] * len(columns))})")
    real = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs per access
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
