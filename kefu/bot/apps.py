from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BotConfig(AppConfig):
    name = "kefu.bot"
    label = "bot"
    verbose_name = _("Chatbot")

    def ready(self) -> None:
        from kefu.bot.services import Chatbot
        from kefu.chat.services import FIRST_RESPONDERS

        if not any(isinstance(r, Chatbot) for r in FIRST_RESPONDERS):
            FIRST_RESPONDERS.append(Chatbot())
