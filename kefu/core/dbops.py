"""Migration operations for SQL that differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class VendorSQL(migrations.RunSQL):
    """RunSQL with one statement list per database vendor; a vendor without one does nothing."""

    def __init__(self, *, sqlite: list[str], postgresql: list[str], reverse_sqlite: list[str],
                 reverse_postgresql: list[str]) -> None:
        super().__init__(sql=[], reverse_sql=[])
        self.by_vendor = {"sqlite": (sqlite, reverse_sqlite), "postgresql": (postgresql, reverse_postgresql)}

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        forwards, _ = self.by_vendor.get(schema_editor.connection.vendor, ([], []))
        for statement in forwards:
            schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        _, backwards = self.by_vendor.get(schema_editor.connection.vendor, ([], []))
        for statement in backwards:
            schema_editor.execute(statement, params=None)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        sqlite, reverse_sqlite = self.by_vendor["sqlite"]
        postgresql, reverse_postgresql = self.by_vendor["postgresql"]
        return (
            "kefu.core.dbops.VendorSQL",
            [],
            {"sqlite": sqlite, "postgresql": postgresql, "reverse_sqlite": reverse_sqlite,
             "reverse_postgresql": reverse_postgresql},
        )
