"""Reads about the chatbot for staff: what it could not answer (grouped, so the knowledge base grows where
customers need it) and how its conversations ended."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _

from kefu.bot.models import Conversation, UnansweredQuestion
from kefu.core import textsearch
from kefu.core.clock import now
from kefu.core.errors import PermissionDenied

SIMILAR = 0.5  # share of the shorter question's words found in the group for it to join
# Words that say nothing about the topic (question words, pronouns, particles).
_STOP = frozenset(re.split(r"\s+", """a an the i you we my your me is are do does did can could would will to of
    for in on at with how what when where why which who it this that please and or not no yes be have has
    我的 请问 怎么 什么 可以 你们 我们 一下 是不 不是 吗"""))
MAX_QUESTIONS = 2000


def _require_staff(actor: Any) -> None:
    if not getattr(actor, "is_staff_member", False):
        raise PermissionDenied(_("Only staff see the chatbot's reports."))


@dataclass
class Gap:
    """Questions that are about the same thing, the most recent first."""

    words: set[str]
    questions: list[UnansweredQuestion] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def example(self) -> str:
        return self.questions[0].text


def knowledge_gaps(actor: Any, *, days: int = 30) -> list[Gap]:
    """The unanswered questions of the period grouped by shared words, largest group first (a greedy pass:
    each question joins the first group holding at least half of its topic words)."""
    _require_staff(actor)
    since = now() - dt.timedelta(days=days)
    gaps: list[Gap] = []
    for question in UnansweredQuestion.objects.filter(created_at__gte=since).order_by("-created_at")[:MAX_QUESTIONS]:
        words = {w for w in textsearch.tokens(question.text) if w not in _STOP}
        if not words:
            continue
        home = next((g for g in gaps if len(words & g.words) / len(words) >= SIMILAR), None)
        if home is None:
            home = Gap(set(words))
            gaps.append(home)
        else:
            home.words |= words
        home.questions.append(question)
    return sorted(gaps, key=lambda g: -g.count)


@dataclass(frozen=True)
class Outcomes:
    total: int
    resolved: int
    handed_off: int
    abandoned: int
    open: int
    reasons: dict[str, int]

    def share(self, part: int) -> float | None:
        return part / self.total if self.total else None


def outcomes(actor: Any, *, days: int = 30) -> Outcomes:
    """How the bot's conversations of the period ended: resolution and hand-off rates, hand-off reasons."""
    _require_staff(actor)
    rows = Conversation.objects.filter(started_at__gte=now() - dt.timedelta(days=days))
    counts = dict(rows.values_list("outcome").annotate(n=Count("id")))
    reasons = dict(rows.filter(outcome=Conversation.Outcome.HANDED_OFF).values_list("handoff_reason")
                   .annotate(n=Count("id")))
    return Outcomes(sum(counts.values()), counts.get("resolved", 0), counts.get("handed_off", 0),
                    counts.get("abandoned", 0), counts.get("", 0), reasons)
