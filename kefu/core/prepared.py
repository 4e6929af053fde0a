"""Reads of fixed shape on the intake path, compiled to SQL once per process.

Django builds and compiles a queryset on every call. For the few reads every API request or new ticket
makes (the token, the customer by email, the next owner) that compilation cost more than the database
spent answering (0.3–0.7 ms each for a join, measured with py-spy on `POST /api/v1/tickets`). A
`Prepared` read builds its queryset once, with placeholder arguments, keeps the SQL, and afterwards only
swaps the arguments in; rows become model instances (with their `select_related` objects) through
`Model.from_db` and the fields' own converters, as Django's own iterator does.

Only what a `select_related` queryset of plain fields returns is supported: no annotations, no
`only()`/`defer()`, no prefetching. The queryset must be sliced (`[:1]`, `[:n]`) so that the statement
has a bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
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
        with real.cursor() as cursor:
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
