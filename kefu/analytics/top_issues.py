"""Top issues of a period, the input to the monthly review (docs/top-issues.md, docs/metrics.md "Top issues").

Three views of what customers needed, each against the previous period:

- by category: ticket volumes from the roll-ups (``selectors.breakdown``), so they add up to the period's total;
- from the text: the newest tickets of the period that the reader may see (``visible_tickets``), subject and
  description grouped by ``topics.group_texts``; the previous period is grouped too and matched to the current
  topics (``topics.match_topics``) for the trend; each topic with a few example tickets;
- knowledge gaps: what the chatbot could not answer (``bot.UnansweredQuestion``), grouped the same way.

Shares are of every ticket (question) of the period, not of the grouped ones: texts alike to nothing still
arrived. The text grouping costs seconds at 20,000 tickets, so it is kept in Django's cache for a few minutes
per period and reader scope; example tickets are loaded through ``visible_tickets`` on every read, so a cached
id never shows a ticket the reader may not open.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.analytics import conf_top_issues as conf
from kefu.analytics.selectors import Figures, Scope, breakdown, scope_of
from kefu.analytics.topics import MAX_TEXT_CHARS, Topic, Trend, group_texts, match_topics, topic_trends
from kefu.bot.models import UnansweredQuestion
from kefu.core.clock import now
from kefu.core.errors import DomainError
from kefu.tickets.models import Category, Ticket
from kefu.tickets.selectors import visible_tickets

DEFAULT_DAYS = 30
PREVIOUS_TOPICS_FACTOR = 5  # the previous period keeps more topics, so that one small then is still matched
PREVIOUS_MIN_SIZE = 2
GAP_MIN_SIZE = 2  # two customers asking the same unanswered question already make an article worth writing
_REST = "\x00rest"  # texts in no topic: they count in the period's total, never shown
_CACHE_VERSION = 1


@dataclass(frozen=True)
class Period:
    """Days ``start``…``end`` (inclusive, the deployment's time zone) and the period they are compared with."""

    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    month: str = ""  # "2026-11" when a calendar month was picked

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def today() -> dt.date:
    return timezone.localtime(now()).date()


def last_days(days: int = DEFAULT_DAYS, *, until: dt.date | None = None) -> Period:
    """The ``days`` days up to today (or ``until``) and the same number of days before them."""
    end = until or today()
    start = end - dt.timedelta(days=days - 1)
    return Period(start, end, start - dt.timedelta(days=days), start - dt.timedelta(days=1))


def month_period(month: str) -> Period:
    """A calendar month ("2026-11") against the month before it; refused when malformed or in the future."""
    try:
        start = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise DomainError(_("Choose a month from the list."), code="invalid_month") from None
    if start > today():
        raise DomainError(_("Choose a month from the list."), code="invalid_month")
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    previous_end = start - dt.timedelta(days=1)
    return Period(start, end, previous_end.replace(day=1), previous_end, month=start.strftime("%Y-%m"))


def recent_months(count: int = 12) -> list[str]:
    """The current month and the ones before it, newest first, for the month picker."""
    first = today().replace(day=1)
    months = []
    for _index in range(count):
        months.append(first.strftime("%Y-%m"))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months


class _Trended:
    """Shares as percentages and the change in points, as the page shows them."""

    trend: Trend

    @property
    def share_percent(self) -> float:
        return 100 * self.trend.current_share

    @property
    def previous_share_percent(self) -> float:
        return 100 * self.trend.previous_share

    @property
    def change_points(self) -> float:
        return 100 * self.trend.share_change


@dataclass(frozen=True)
class CategoryIssue(_Trended):
    category_id: str  # "" = no category
    label: str
    trend: Trend


@dataclass(frozen=True)
class TextIssue(_Trended):
    label: str
    size: int
    trend: Trend
    examples: tuple[Ticket, ...]


@dataclass(frozen=True)
class Gap(_Trended):
    label: str
    size: int
    trend: Trend
    examples: tuple[str, ...]


@dataclass(frozen=True)
class TopIssues:
    period: Period
    categories: list[CategoryIssue] | None  # None: the reader may not see the category breakdown (agents)
    tickets: int  # created in the period (within the reader's scope)
    previous_tickets: int
    topics: list[TextIssue]
    grouped_tickets: int  # of those, how many were read for the text groups (the newest, up to the knob)
    questions: int
    previous_questions: int
    gaps: list[Gap]


@dataclass(frozen=True)
class _Group:
    label: str
    size: int
    previous: int
    examples: tuple[str, ...]  # ticket ids (as text) or question texts


@dataclass(frozen=True)
class _Grouping:
    """The costly part, kept in the cache: plain values only."""

    tickets: int
    previous_tickets: int
    grouped_tickets: int
    topics: tuple[_Group, ...]
    questions: int
    previous_questions: int
    gaps: tuple[_Group, ...]


def top_issues(actor: object, period: Period) -> TopIssues:
    """The period's top issues by category, by text and the chatbot's knowledge gaps, within the reader's scope.

    Raises PermissionDenied for a reader who is not staff.
    """
    scope = scope_of(actor)
    grouping = _cached_grouping(actor, scope, period)
    examples = _visible_examples(actor, [int(pk) for group in grouping.topics for pk in group.examples])
    topic_trend = _trends(grouping.topics, grouping.tickets, grouping.previous_tickets)
    gap_trend = _trends(grouping.gaps, grouping.questions, grouping.previous_questions)
    return TopIssues(
        period=period,
        categories=_categories(actor, period) if scope.everything else None,
        tickets=grouping.tickets,
        previous_tickets=grouping.previous_tickets,
        topics=[TextIssue(group.label, group.size, topic_trend[group.label],
                          tuple(examples[int(pk)] for pk in group.examples if int(pk) in examples))
                for group in grouping.topics],
        grouped_tickets=grouping.grouped_tickets,
        questions=grouping.questions,
        previous_questions=grouping.previous_questions,
        gaps=[Gap(group.label, group.size, gap_trend[group.label], group.examples) for group in grouping.gaps],
    )


# --- by category -----------------------------------------------------------------------------------------------


def _categories(actor: object, period: Period) -> list[CategoryIssue]:
    current = breakdown(actor, "category", period.start, period.end)
    previous = breakdown(actor, "category", period.previous_start, period.previous_end)
    trends = topic_trends(_volumes(current), _volumes(previous))
    ids = [int(trend.key) for trend in trends if trend.key.isdigit()]
    labels = {str(category.pk): category.label() for category in Category.objects.filter(pk__in=ids)}
    return [CategoryIssue(trend.key, labels.get(trend.key, f"#{trend.key}") if trend.key else _("No category"), trend)
            for trend in trends]


def _volumes(rows: Mapping[str, Figures]) -> dict[str, int]:
    return {value: figures.volume for value, figures in rows.items() if figures.volume}


# --- from the text ---------------------------------------------------------------------------------------------


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's first moment and the first moment after it, in the deployment's time zone."""
    zone = timezone.get_default_timezone()
    return (dt.datetime.combine(start, dt.time(), tzinfo=zone),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone))


def _ticket_texts(actor: object, start: dt.date, end: dt.date, limit: int) -> tuple[int, list[tuple[int, str]]]:
    """How many tickets the reader may see were created in the period, and the newest ``limit`` as (id, text)."""
    low, high = _bounds(start, end)
    created = visible_tickets(actor).filter(created_at__gte=low, created_at__lt=high)
    rows = list(created.order_by("-created_at", "-pk")
                .values_list("pk", "subject", Substr("description", 1, MAX_TEXT_CHARS))[:limit])
    total = len(rows) if len(rows) < limit else created.count()
    return total, [(pk, f"{subject}\n{description}") for pk, subject, description in rows]


def _question_texts(start: dt.date, end: dt.date, limit: int) -> tuple[int, list[tuple[int, str]]]:
    low, high = _bounds(start, end)
    asked = UnansweredQuestion.objects.filter(created_at__gte=low, created_at__lt=high)
    rows = list(asked.order_by("-created_at", "-pk").values_list("pk", "text")[:limit])
    return (len(rows) if len(rows) < limit else asked.count()), rows


def _groups(
    current: Sequence[Topic], previous: Sequence[Topic], examples: Mapping[int, str] | None
) -> tuple[_Group, ...]:
    """The current topics with their previous-period counts; examples as question texts, or as ticket ids."""
    matched = match_topics(current, previous)
    return tuple(
        _Group(topic.label, topic.size, matched[topic.label],
               tuple(examples[int(pk)] for pk in topic.examples) if examples is not None
               else tuple(str(pk) for pk in topic.examples))
        for topic in current)


def _group(
    items: list[tuple[int, str]], previous: list[tuple[int, str]], *, min_size: int
) -> tuple[list[Topic], list[Topic]]:
    max_topics = int(conf.get("TOP_ISSUES_MAX_TOPICS"))
    return (group_texts(items, max_topics=max_topics, min_size=min_size),
            group_texts(previous, max_topics=max_topics * PREVIOUS_TOPICS_FACTOR,
                        min_size=min(min_size, PREVIOUS_MIN_SIZE)))


def _compute_grouping(actor: object, period: Period) -> _Grouping:
    max_tickets, max_questions = int(conf.get("TOP_ISSUES_MAX_TICKETS")), int(conf.get("TOP_ISSUES_MAX_QUESTIONS"))
    tickets, texts = _ticket_texts(actor, period.start, period.end, max_tickets)
    previous_tickets, previous_texts = _ticket_texts(actor, period.previous_start, period.previous_end, max_tickets)
    topics, previous_topics = _group(texts, previous_texts, min_size=3)
    questions, asked = _question_texts(period.start, period.end, max_questions)
    previous_questions, previously_asked = _question_texts(period.previous_start, period.previous_end, max_questions)
    gaps, previous_gaps = _group(asked, previously_asked, min_size=GAP_MIN_SIZE)
    return _Grouping(
        tickets=tickets, previous_tickets=previous_tickets, grouped_tickets=len(texts),
        topics=_groups(topics, previous_topics, None),
        questions=questions, previous_questions=previous_questions,
        gaps=_groups(gaps, previous_gaps, dict(asked)),
    )


def _scope_key(scope: Scope) -> str:
    return "all" if scope.everything else f"agent{scope.agent}-teams{'.'.join(sorted(scope.teams))}"


def _cached_grouping(actor: object, scope: Scope, period: Period) -> _Grouping:
    key = ":".join(str(part) for part in (
        "kefu-top-issues", _CACHE_VERSION, period.start, period.end, period.previous_start, period.previous_end,
        _scope_key(scope), conf.get("TOP_ISSUES_MAX_TICKETS"), conf.get("TOP_ISSUES_MAX_QUESTIONS"),
        conf.get("TOP_ISSUES_MAX_TOPICS")))
    grouping = cache.get(key)
    if not isinstance(grouping, _Grouping):
        grouping = _compute_grouping(actor, period)
        cache.set(key, grouping, timeout=int(conf.get("TOP_ISSUES_CACHE_SECONDS")))
    return grouping


def _visible_examples(actor: object, ids: list[int]) -> dict[int, Ticket]:
    """The example tickets the reader may open now, in one query (a cached id is checked again here)."""
    if not ids:
        return {}
    return {ticket.pk: ticket for ticket in visible_tickets(actor).filter(pk__in=ids).only("pk", "subject", "status")}


def _trends(groups: Sequence[_Group], total: int, previous_total: int) -> dict[str, Trend]:
    """Each group's trend, its share taken of every ticket (question) of its period, grouped or not."""
    current: Counter[str] = Counter()
    previous: Counter[str] = Counter()
    for group in groups:
        current[group.label] += group.size
        previous[group.label] = group.previous  # match_topics counted it once per label
    current[_REST] = max(total - sum(current.values()), 0)
    previous[_REST] = max(previous_total - sum(previous.values()), 0)
    return {trend.key: trend for trend in topic_trends(current, previous) if trend.key != _REST}
