from __future__ import annotations

from kefu.core.periodic import periodic
from kefu.feedback import services


@periodic(seconds=60)
def survey_sweep() -> None:
    # Expiry first, so that a survey past its date is never reminded in the same turn.
    services.expire_surveys()
    services.send_due_surveys()
    services.remind_unanswered()
    services.flag_overdue_followups()
