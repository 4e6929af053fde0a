"""Top issues of a period, the input to the monthly review (docs/top-issues.md, docs/metrics.md "Top issues").

Three views of what customers needed, each against the previous period:

- by category: ticket volumes from the roll-ups (``selectors.breakdown``), so they add up to the period's total;
- from the text: the newest tickets of the period that the reader may see (``visible_tickets``), subject and
  description grouped by ``topics.group_texts``; the previous period is grouped too and matched to the current
  topics (``topics.match_topics``) for the trend; each topic with a few example tickets;
- knowledge gaps: what the chatbot could not answer (``bot.UnansweredQuestion``), grouped the same way.

Shares are of every ticket (question) of the period, not of the grouped ones: texts alike to nothing still
arrived. The text grouping costs seconds at 20,000 tickets (20–30 s on a slow core), so it is not done while a
reader waits: the scheduler plans the periods of the page (the last 30 days and the last 12 months) and a
background task groups each into a ``TopIssuesGrouping`` row, again every ``TOP_ISSUES_REFRESH_SECONDS`` until the
period has ended. Readers who see everything read those rows. A period with no row yet (a fresh install, an
agent's own scope) is grouped on the spot and kept in Django's cache for a few minutes. Example tickets are loaded
through ``visible_tickets`` on every read, so a stored id never shows a ticket the reader may not open.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.analytics import conf_top_issues as conf
from kefu.analytics.models import TopIssuesGrouping
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
_CACHE_VERSION = 2
_FORMAT = 1  # the layout of TopIssuesGrouping.grouping; a row of another layout is grouped again
CLAIM = dt.timedelta(minutes=15)  # a background grouping takes under a minute; a dead worker's claim lapses
MONTHS = 12  # the months of the page's picker


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


def recent_months(count: int = MONTHS) -> list[str]:
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
    grouped_at: dt.datetime  # when the text grouping was computed


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

    The last 30 days may come back as the 30 days up to yesterday, while today's grouping is being computed
    (``TopIssues.period`` says which). Raises PermissionDenied for a reader who is not staff.
    """
    scope = scope_of(actor)
    stored = _stored_grouping(period) if scope.everything else None
    if stored is not None:
        period, grouping, grouped_at = stored
    else:
        grouping, grouped_at = _cached_grouping(actor, scope, period)
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
        grouped_at=grouped_at,
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


def _ticket_texts(
    tickets: QuerySet[Ticket], start: dt.date, end: dt.date, limit: int
) -> tuple[int, list[tuple[int, str]]]:
    """How many of ``tickets`` were created in the period, and the newest ``limit`` as (id, text)."""
    low, high = _bounds(start, end)
    created = tickets.filter(created_at__gte=low, created_at__lt=high)
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


def _compute_grouping(readable: QuerySet[Ticket], period: Period) -> _Grouping:
    max_tickets, max_questions = int(conf.get("TOP_ISSUES_MAX_TICKETS")), int(conf.get("TOP_ISSUES_MAX_QUESTIONS"))
    tickets, texts = _ticket_texts(readable, period.start, period.end, max_tickets)
    previous_tickets, previous_texts = _ticket_texts(readable, period.previous_start, period.previous_end, max_tickets)
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


def _limits() -> str:
    """The knobs a grouping depends on: a grouping made with other limits is not reused."""
    return "/".join(str(conf.get(name)) for name in (
        "TOP_ISSUES_MAX_TICKETS", "TOP_ISSUES_MAX_QUESTIONS", "TOP_ISSUES_MAX_TOPICS"))


def _cached_grouping(actor: object, scope: Scope, period: Period) -> tuple[_Grouping, dt.datetime]:
    key = ":".join(str(part) for part in (
        "kefu-top-issues", _CACHE_VERSION, period.start, period.end, period.previous_start, period.previous_end,
        _scope_key(scope), _limits()))
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], _Grouping):
        return cached
    grouping = (_compute_grouping(visible_tickets(actor), period), now())
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


# --- stored groupings (readers who see everything) -------------------------------------------------------------


def _period_of(row: TopIssuesGrouping) -> Period:
    return Period(row.start, row.end, row.previous_start, row.previous_end, month=row.month)


def _rows_of(period: Period) -> QuerySet[TopIssuesGrouping]:
    return TopIssuesGrouping.objects.filter(
        start=period.start, end=period.end, previous_start=period.previous_start, previous_end=period.previous_end,
        limits=_limits())


def _stored_grouping(period: Period) -> tuple[Period, _Grouping, dt.datetime] | None:
    """The stored grouping of the period; for the last days, yesterday's while today's is not computed yet."""
    candidates = [period]
    if not period.month and period.end == today():
        candidates.append(last_days(period.days, until=period.end - dt.timedelta(days=1)))
    for candidate in candidates:
        row = _rows_of(candidate).filter(grouping__isnull=False).first()
        grouping = _from_json(row.grouping) if row is not None else None
        if row is not None and grouping is not None and row.computed_at is not None:
            return _period_of(row), grouping, row.computed_at
    return None


def _to_json(grouping: _Grouping) -> dict[str, object]:
    def groups(items: tuple[_Group, ...]) -> list[list[object]]:
        return [[group.label, group.size, group.previous, list(group.examples)] for group in items]

    return {"format": _FORMAT, "tickets": grouping.tickets, "previous_tickets": grouping.previous_tickets,
            "grouped_tickets": grouping.grouped_tickets, "topics": groups(grouping.topics),
            "questions": grouping.questions, "previous_questions": grouping.previous_questions,
            "gaps": groups(grouping.gaps)}


def _from_json(data: object) -> _Grouping | None:
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return None

    def groups(items: list[list[Any]]) -> tuple[_Group, ...]:
        return tuple(_Group(label, size, previous, tuple(examples)) for label, size, previous, examples in items)

    return _Grouping(tickets=data["tickets"], previous_tickets=data["previous_tickets"],
                     grouped_tickets=data["grouped_tickets"], topics=groups(data["topics"]),
                     questions=data["questions"], previous_questions=data["previous_questions"],
                     gaps=groups(data["gaps"]))


def planned_periods() -> list[Period]:
    """The periods the page offers: the last 30 days and the months of its picker."""
    return [last_days(), *(month_period(month) for month in recent_months())]


def _is_due(row: TopIssuesGrouping, moment: dt.datetime) -> bool:
    """Never computed, of another layout, or computed while its period ran and not for a while."""
    if row.computed_at is None or _from_json(row.grouping) is None:
        return True
    if timezone.localtime(row.computed_at).date() > row.end:
        return False  # computed after the period ended: final
    return row.computed_at < moment - dt.timedelta(seconds=int(conf.get("TOP_ISSUES_REFRESH_SECONDS")))


def plan_groupings() -> list[int]:
    """Claim the stored groupings the background task should compute now (missing or stale); drop unused ones.

    Returns the claimed rows' ids; a row claimed by another planner, or still claimed by a task, is left alone.
    """
    limits, moment = _limits(), now()
    periods = planned_periods()
    oldest_month = min(period.start for period in periods if period.month)
    TopIssuesGrouping.objects.filter(
        ~Q(limits=limits) | Q(month="", end__lt=today() - dt.timedelta(days=1)) | Q(start__lt=oldest_month)).delete()
    TopIssuesGrouping.objects.bulk_create(
        [TopIssuesGrouping(start=period.start, end=period.end, previous_start=period.previous_start,
                           previous_end=period.previous_end, month=period.month, limits=limits)
         for period in periods], ignore_conflicts=True)
    wanted = {(period.start, period.end, period.previous_start, period.previous_end) for period in periods}
    rows = TopIssuesGrouping.objects.filter(limits=limits, start__in={period.start for period in periods})
    claimed = []
    for row in rows.order_by("-end", "start"):
        if (row.start, row.end, row.previous_start, row.previous_end) in wanted and _is_due(row, moment):
            free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=moment)
            if TopIssuesGrouping.objects.filter(free, pk=row.pk).update(claimed_until=moment + CLAIM):
                claimed.append(row.pk)
    return claimed


def compute_stored_grouping(row_id: int) -> bool:
    """Group the row's period over every ticket and store it; False when the row is gone (pruned meanwhile)."""
    row = TopIssuesGrouping.objects.filter(pk=row_id).first()
    if row is None:
        return False
    grouping = _compute_grouping(Ticket.objects.all(), _period_of(row))
    TopIssuesGrouping.objects.filter(pk=row_id).update(
        grouping=_to_json(grouping), computed_at=now(), claimed_until=None)
    return True
