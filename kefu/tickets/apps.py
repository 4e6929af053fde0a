from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "kefu.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from kefu.accounts.models import Department, User
        from kefu.tickets.models import Category

        # The pickers' short-lived lists (kefu.tickets.selectors): this process sees an edit at once.
        post_save.connect(_forget_agents, sender=User, dispatch_uid="tickets.agent_choices")
        post_save.connect(_forget_teams, sender=Department, dispatch_uid="tickets.team_choices")
        post_save.connect(_forget_categories, sender=Category, dispatch_uid="tickets.category_choices")


SIGN_IN_FIELDS = frozenset({"last_login"})  # what a sign-in saves on the user


def _forget_agents(update_fields: frozenset[str] | None = None, **_kwargs: Any) -> None:
    from kefu.tickets.selectors import agent_choices

    if update_fields is not None and update_fields <= SIGN_IN_FIELDS:
        return  # a sign-in changes nothing the pickers show
    agent_choices.forget()


def _forget_teams(**_kwargs: Any) -> None:
    from kefu.tickets.selectors import team_choices

    team_choices.forget()


def _forget_categories(**_kwargs: Any) -> None:
    from kefu.tickets.selectors import category_choices

    category_choices.forget()
