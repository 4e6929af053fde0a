from __future__ import annotations

from kefu.chat import services
from kefu.core.periodic import periodic


@periodic(seconds=15)
def convert_unanswered_chats() -> None:
    services.convert_unanswered()
