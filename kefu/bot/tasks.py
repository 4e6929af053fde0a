"""The chatbot's background work: retraining when the knowledge base changes (here, not in the web
processes), and closing chats the customer left with the bot."""

from __future__ import annotations

from kefu.bot import brain, services
from kefu.core.periodic import periodic


@periodic(seconds=60)
def retrain_chatbot() -> None:
    brain.retrain_if_stale()


@periodic(seconds=60)
def close_idle_bot_chats() -> None:
    services.close_idle()
