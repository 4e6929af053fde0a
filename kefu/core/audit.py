from __future__ import annotations

from typing import Any

from kefu.core.bulk import insert_many
from kefu.core.models import AuditEntry


def record_audit(action: str, target: Any, *, actor: Any, changes: dict[str, Any] | None = None) -> None:
    """Write an audit row; call it inside the service's transaction."""
    insert_many([AuditEntry(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        changes=changes or {},
    )])
