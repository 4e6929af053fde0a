"""What the agent sees beside a ticket: similar past cases and how they were resolved, suggested articles
and reply templates, and the machine's triage. Every suggestion is loaded through the access layer
(``visible_tickets``, the knowledge selectors): an agent is never shown a ticket or an internal article
they may not see."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.accounts.models import Role
from kefu.assist import abtest
from kefu.assist.models import ReplyTemplate, TemplateUse
from kefu.core import textsearch
from kefu.core.errors import NotFound, PermissionDenied
from kefu.feedback import selectors as feedback
from kefu.knowledge import selectors as knowledge
from kefu.tickets.models import Ticket, TicketEvent, TicketSearchDocument
from kefu.tickets.selectors import visible_tickets
from kefu.tickets.states import Status

MAX_QUERY_TOKENS = 16
CANDIDATES = 200  # finished tickets scored by shared words
MATCH_WINDOW = 2000  # newest text matches looked at for them
RECENT_DOCUMENTS = 20_000  # PostgreSQL: the newest tickets searched for those
_DONE = [Status.RESOLVED, Status.CLOSED]


# ---------------------------------------------------------------------------------------------- similar cases


@dataclass(frozen=True)
class SimilarCase:
    ticket: Ticket
    similarity: float  # share of this ticket's words that the other one has
    resolution: str  # how it was resolved: the chosen solution, or the resolution summary


def _distinctive_tokens(ticket: Ticket) -> list[str]:
    """The words of the ticket's subject and description worth matching on (numbers and one-letter
    Latin words say little about the problem)."""
    words = textsearch.tokens(f"{ticket.subject} {ticket.subject} {ticket.description}")
    counted = Counter(w for w in words if not w.isdigit() and (len(w) > 1 or not w.isascii()))
    return [w for w, _count in counted.most_common(MAX_QUERY_TOKENS)]


def _candidate_matches(words: list[str]) -> RawSQL:
    """The newest MATCH_WINDOW tickets sharing any of the words (the full-text index), as a subquery.

    Newest first, not best match first: ranking every match cost 0.4–0.6 s a ticket page at 100k tickets,
    because a ticket's common words match most of the others, and it grows with the table. The share of
    shared words does the ranking, on the finished tickets among these; recent resolutions are also the
    likelier to still apply. PostgreSQL looks among the RECENT_DOCUMENTS newest tickets only: left to
    itself it walks the whole table backwards when every word is rare (0.55 s at 100k for two unknown
    words), and a bitmap of the common words sorts most of the table; this walk is bounded both ways."""
    if connection.vendor == "postgresql":
        sql = ("SELECT ticket_id FROM (SELECT ticket_id, tsv FROM tickets_ticketsearchdocument "
               "ORDER BY ticket_id DESC LIMIT %s) recent WHERE tsv @@ to_tsquery('simple', %s) LIMIT %s")
        params: list[Any] = [RECENT_DOCUMENTS, " | ".join(f"'{w}'" for w in words), MATCH_WINDOW]
    else:
        sql = "SELECT rowid FROM tickets_ticket_fts WHERE tickets_ticket_fts MATCH %s ORDER BY rowid DESC LIMIT %s"
        params = [" OR ".join(f'"{w}"' for w in words), MATCH_WINDOW]
    return RawSQL(sql, params)  # noqa: S611 (constant SQL, bound parameters)


def similar_cases(actor: Any, ticket: Ticket, *, limit: int = 5) -> list[SimilarCase]:
    words = _distinctive_tokens(ticket)
    if not words:
        return []
    visible = visible_tickets(actor)
    # Ids first, whole tickets only for the few shown: building 200 of them cost more than finding them.
    done = list(visible.filter(pk__in=_candidate_matches(words), status__in=_DONE).exclude(pk=ticket.pk)
                .order_by("-pk").values_list("pk", flat=True)[:CANDIDATES])
    documents = dict(TicketSearchDocument.objects.filter(ticket_id__in=done).values_list("ticket_id", "tokens"))
    scored = sorted(((_shared_share(words, documents.get(pk, "")), pk) for pk in done),
                    key=lambda pair: (-pair[0], -pair[1]))
    best = [(score, pk) for score, pk in scored[:limit] if score > 0]
    tickets = visible.select_related("chosen_solution").in_bulk([pk for _score, pk in best])
    summaries = _resolution_summaries([pk for _score, pk in best])
    return [SimilarCase(t, round(score, 2), t.chosen_solution.title if t.chosen_solution else summaries.get(pk, ""))
            for score, pk in best if (t := tickets.get(pk)) is not None]


def _shared_share(words: list[str], tokens: str) -> float:
    """The share of `words` (distinct) among a ticket's space-separated search tokens. Looked up in the text,
    not by splitting it into a set: a ticket's tokens run to thousands, the words to 16."""
    padded = f" {tokens} "
    return sum(1 for w in words if f" {w} " in padded) / len(words)


def _resolution_summaries(ticket_ids: list[int]) -> dict[int, str]:
    """Each ticket's latest resolution summary. Read by ticket only and picked out here: asked for by event
    type too, SQLite walked the type index through every status change of every ticket (0.2 s at 100k)."""
    summaries: dict[int, str] = {}
    events = (TicketEvent.objects.filter(ticket_id__in=ticket_ids).order_by("ticket_id", "-at")
              .only("ticket_id", "type", "payload"))
    for ticket_id, group in itertools.groupby(events, key=lambda e: e.ticket_id):
        summaries[ticket_id] = next((e.payload.get("summary", "") for e in group
                                     if e.type == "status_changed" and e.payload.get("action") == "resolve"
                                     and e.payload.get("summary")), "")
    return summaries


# ---------------------------------------------------------------------------------------------- articles


def suggested_articles(actor: Any, ticket: Ticket, *, limit: int = 5) -> list[knowledge.SearchResult]:
    """Published articles for the ticket's words (internal ones too, for staff), the customer's language first."""
    words = _distinctive_tokens(ticket)
    if not words:
        return []
    # Articles sharing most of the ticket's distinctive words rank first (the search ranks by coverage).
    return knowledge.search_articles(actor, " ".join(words), locale=knowledge.reader_locale(ticket.language),
                                     limit=limit)


# ---------------------------------------------------------------------------------------------- templates

VARIABLES = ("customer_name", "ticket_number", "agent_name", "order_number", "tracking_link")
_VARIABLE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Suggestion:
    template: ReplyTemplate
    text: str  # with the ticket's values filled in
    score: int


def render_template(body: str, values: dict[str, str]) -> str:
    """{name} variables filled in; an unknown or empty one is left visible for the agent to complete."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1)) or m.group(0), body)


def template_values(ticket: Ticket, agent: Any, tracking_url: str = "") -> dict[str, str]:
    order = ticket.customer.orders.order_by("-id").values_list("number", flat=True).first()
    return {"customer_name": ticket.customer.name, "ticket_number": ticket.number,
            "agent_name": getattr(agent, "name", ""), "order_number": order or "", "tracking_link": tracking_url}


def suggested_templates(actor: Any, ticket: Ticket, *, tracking_url: str = "", limit: int = 5) -> list[Suggestion]:
    """Active templates in the ticket's language, ranked by category and keyword match; of an A/B
    experiment's variants, the one this ticket is assigned to (by its number, so the split is even and a
    ticket always sees the same variant)."""
    if not getattr(actor, "is_staff_member", False):
        return []
    language = knowledge.reader_locale(ticket.language)
    templates = list(ReplyTemplate.objects.filter(active=True, locale=language))
    text = textsearch.normalize(f"{ticket.subject} {ticket.description}")
    values = template_values(ticket, actor, tracking_url)
    ranked = []
    for template in _one_variant_per_experiment(templates, ticket.pk):
        score = 2 if template.category_id and template.category_id == ticket.category_id else 0
        score += sum(1 for word in re.split(r"[\s,，、]+", template.keywords) if word and
                     textsearch.normalize(word) in text)
        ranked.append(Suggestion(template, render_template(template.body, values), score))
    ranked.sort(key=lambda s: (-s.score, s.template.name))
    return ranked[:limit]


def _one_variant_per_experiment(templates: list[ReplyTemplate], ticket_id: int) -> list[ReplyTemplate]:
    chosen = [t for t in templates if not t.experiment]
    by_experiment: dict[str, list[ReplyTemplate]] = {}
    for template in templates:
        if template.experiment:
            by_experiment.setdefault(template.experiment, []).append(template)
    for variants in by_experiment.values():
        variants.sort(key=lambda t: (t.variant, t.pk))
        chosen.append(variants[ticket_id % len(variants)])
    return chosen


def reply_templates(actor: Any) -> QuerySet[ReplyTemplate]:
    """Every template with how often it was used, for the console's list (staff)."""
    if not getattr(actor, "is_staff_member", False):
        raise PermissionDenied(_("Only staff see the reply templates."))
    return (ReplyTemplate.objects.select_related("category").annotate(use_count=Count("uses"))
            .order_by("-active", "name", "locale", "variant"))


def get_reply_template_for_editing(actor: Any, template_id: int) -> ReplyTemplate:
    if getattr(actor, "role", None) not in {Role.SUPERVISOR, Role.ADMIN}:
        raise PermissionDenied(_("Only supervisors and administrators edit reply templates."))
    template = ReplyTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("No such reply template."))
    return template


# ---------------------------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class VariantOutcome:
    template: ReplyTemplate
    uses: int
    resolved: int  # resolved or closed, never reopened
    reopened: int
    surveyed: int  # tickets whose customer answered the survey's "overall" question
    satisfied: int  # of those, answered 4 or 5 (kefu.feedback: CSAT)

    @property
    def rate(self) -> float | None:
        return self.resolved / self.uses if self.uses else None

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.surveyed if self.surveyed else None


@dataclass(frozen=True)
class ExperimentReport:
    name: str
    variants: list[VariantOutcome]
    comparison: abtest.Comparison | None
    verdict: str
    csat_comparison: abtest.Comparison | None
    csat_verdict: str


def experiment_reports(actor: Any) -> list[ExperimentReport]:
    """Every A/B experiment with each variant's outcomes and the significance of the difference (for
    supervisors and administrators)."""
    if getattr(actor, "role", None) not in {Role.SUPERVISOR, Role.ADMIN}:
        raise PermissionDenied(_("Only supervisors and administrators see the template experiments."))
    reports = []
    templates = ReplyTemplate.objects.exclude(experiment="").order_by("experiment", "variant", "pk")
    for name, group in itertools.groupby(templates, key=lambda t: t.experiment):
        variants = [_outcome(template) for template in group]
        comparison = csat_comparison = None
        if len(variants) >= 2:
            a, b = variants[0], variants[1]
            comparison = abtest.compare(a.resolved, a.uses, b.resolved, b.uses)
            csat_comparison = abtest.compare(a.satisfied, a.surveyed, b.satisfied, b.surveyed)
        reports.append(ExperimentReport(name, variants, comparison, _verdict(variants, comparison),
                                        csat_comparison, _csat_verdict(variants, csat_comparison)))
    return reports


def _outcome(template: ReplyTemplate) -> VariantOutcome:
    tickets = Ticket.objects.filter(pk__in=TemplateUse.objects.filter(template=template).values("ticket_id"))
    uses = tickets.count()
    resolved = tickets.filter(status__in=_DONE, reopened_count=0).count()
    reopened = tickets.filter(reopened_count__gt=0).count()
    scores = feedback.overall_score_by_ticket(tickets.values_list("pk", flat=True))
    satisfied = sum(1 for score in scores.values() if score >= feedback.SATISFIED_SCORE)
    return VariantOutcome(template, uses, resolved, reopened, len(scores), satisfied)


VERDICT_NO_DATA = gettext_lazy("Not enough data yet: at least %(n)s uses of each variant are needed.")
CSAT_NO_DATA = gettext_lazy("Satisfaction: not enough survey answers yet (at least %(n)s per variant).")


def _verdict(variants: list[VariantOutcome], comparison: abtest.Comparison | None) -> str:
    if comparison is None:
        return _("Add a second variant to compare.")
    if not comparison.enough_data:
        return str(VERDICT_NO_DATA) % {"n": abtest.MIN_USES}
    if comparison.better is None:
        return _("No significant difference (p = %(p)s).") % {"p": comparison.p_value}
    winner = variants[0] if comparison.better == "a" else variants[1]
    return _("Variant %(variant)s resolves more tickets without a reopen (p = %(p)s).") % {
        "variant": winner.template.variant or winner.template.name, "p": comparison.p_value}


def _csat_verdict(variants: list[VariantOutcome], comparison: abtest.Comparison | None) -> str:
    if comparison is None:
        return ""
    if not comparison.enough_data:
        return str(CSAT_NO_DATA) % {"n": abtest.MIN_USES}
    if comparison.better is None:
        return _("Satisfaction: no significant difference (p = %(p)s).") % {"p": comparison.p_value}
    winner = variants[0] if comparison.better == "a" else variants[1]
    return _("Variant %(variant)s leaves more customers satisfied (p = %(p)s).") % {
        "variant": winner.template.variant or winner.template.name, "p": comparison.p_value}
