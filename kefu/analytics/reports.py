"""Weekly and monthly reports: made on schedule from the roll-ups, kept as rows, read in the console, downloaded as
CSV or XLSX, and mailed to their subscribers (docs/reports.md; docs/metrics.md says what each figure counts).

A report's figures are summed from ``Fact`` rows in one grouped query (never from tickets or events) and kept as
JSON on the ``Report`` row, so the page, the downloads and the mail all read the same numbers. Generating a period
again updates its row (the unique constraint on kind and first day keeps one); the scheduled job claims the
mailing with a compare-and-set on ``mailed_at``, so subscribers get each report once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.accounts.models import Department, Role, User
from kefu.analytics import conf_reports
from kefu.analytics.models import Fact, Report, ReportSubscription
from kefu.analytics.selectors import READS_ALL, Figures, period_start, scope_of
from kefu.analytics.services import DIMENSIONS
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.customers.models import Channel, Tier
from kefu.notifications.services import queue_notification
from kefu.tickets.models import Category, Priority

GENERATES = frozenset({Role.SUPERVISOR, Role.ADMIN})
FORMAT = 1  # the layout of Report.figures; a reader of an older layout can tell


@dataclass(frozen=True)
class Field:
    """One figure of a report: a count, a duration (mean seconds, or a median's bucket bound), a rate (0–1) or
    points (NPS). A rate names its numerator and denominator, both shown (docs/metrics.md)."""

    key: str
    label: str | Promise
    style: str  # count | seconds | median | rate | points
    numerator: str = ""
    denominator: str = ""


FIELDS = (
    Field("volume", gettext_lazy("Tickets created"), "count"),
    Field("first_responses", gettext_lazy("First responses"), "count"),
    Field("first_response_mean", gettext_lazy("First response time, mean"), "seconds", denominator="first_responses"),
    Field("first_response_median", gettext_lazy("First response time, median"), "median",
          denominator="first_responses"),
    Field("resolved", gettext_lazy("Tickets resolved"), "count"),
    Field("resolution_mean", gettext_lazy("Time to resolution, mean"), "seconds", denominator="resolved"),
    Field("resolution_median", gettext_lazy("Time to resolution, median"), "median", denominator="resolved"),
    Field("sla_met_first_response", gettext_lazy("First responses in time (SLA)"), "count"),
    Field("sla_decided_first_response", gettext_lazy("First-response clocks decided"), "count"),
    Field("sla_first_response", gettext_lazy("SLA met: first response"), "rate", "sla_met_first_response",
          "sla_decided_first_response"),
    Field("sla_met_update", gettext_lazy("Customer updates in time (SLA)"), "count"),
    Field("sla_decided_update", gettext_lazy("Customer-update clocks decided"), "count"),
    Field("sla_update", gettext_lazy("SLA met: customer updates"), "rate", "sla_met_update", "sla_decided_update"),
    Field("sla_met_resolution", gettext_lazy("Resolutions in time (SLA)"), "count"),
    Field("sla_decided_resolution", gettext_lazy("Resolution clocks decided"), "count"),
    Field("sla_resolution", gettext_lazy("SLA met: resolution"), "rate", "sla_met_resolution",
          "sla_decided_resolution"),
    Field("handled", gettext_lazy("Chats and calls handled"), "count"),
    Field("handling_mean", gettext_lazy("Handling time (AHT), mean"), "seconds", denominator="handled"),
    Field("bot_ended", gettext_lazy("Assistant conversations"), "count"),
    Field("bot_resolved", gettext_lazy("Solved by the assistant"), "count"),
    Field("bot_resolution_rate", gettext_lazy("Assistant resolution rate"), "rate", "bot_resolved", "bot_ended"),
    Field("bot_handed_off", gettext_lazy("Handed to a person"), "count"),
    Field("bot_handoff_rate", gettext_lazy("Assistant hand-off rate"), "rate", "bot_handed_off", "bot_ended"),
    Field("fcr", gettext_lazy("Resolved at first contact"), "count"),
    Field("fcr_rate", gettext_lazy("First contact resolution"), "rate", "fcr", "resolved"),
    Field("reopened", gettext_lazy("Resolved after a reopen"), "count"),
    Field("reopen_rate", gettext_lazy("Reopen rate"), "rate", "reopened", "resolved"),
    Field("transferred", gettext_lazy("Transferred"), "count"),
    Field("transfer_rate", gettext_lazy("Transfer rate"), "rate", "transferred", "volume"),
    Field("escalated", gettext_lazy("Escalated"), "count"),
    Field("escalation_rate", gettext_lazy("Escalation rate"), "rate", "escalated", "volume"),
    Field("channel_switched", gettext_lazy("Switched channel"), "count"),
    Field("channel_switch_rate", gettext_lazy("Channel-switch rate"), "rate", "channel_switched", "volume"),
    Field("csat_answers", gettext_lazy("CSAT answers"), "count"),
    Field("csat_satisfied", gettext_lazy("Satisfied answers (4–5)"), "count"),
    Field("csat", gettext_lazy("CSAT"), "rate", "csat_satisfied", "csat_answers"),
    Field("nps_answers", gettext_lazy("NPS answers"), "count"),
    Field("nps_promoters", gettext_lazy("Promoters (9–10)"), "count"),
    Field("nps_detractors", gettext_lazy("Detractors (0–6)"), "count"),
    Field("nps", gettext_lazy("NPS"), "points", denominator="nps_answers"),
    Field("qa_reviews", gettext_lazy("QA reviews"), "count"),
    Field("qa_passed", gettext_lazy("QA reviews passed"), "count"),
    Field("qa_pass_rate", gettext_lazy("QA pass rate"), "rate", "qa_passed", "qa_reviews"),
)
FIELD = {field.key: field for field in FIELDS}
# The headline figures: the totals table, the breakdown tables' columns and (some of them) the mail.
KPIS = tuple(FIELD[key] for key in (
    "volume", "first_response_mean", "first_response_median", "sla_first_response", "resolution_mean",
    "resolution_median", "sla_resolution", "handling_mean", "fcr_rate",
    "reopen_rate", "transfer_rate", "escalation_rate", "channel_switch_rate", "csat", "nps", "qa_pass_rate"))
DIMENSION_LABELS: dict[str, str | Promise] = {
    "channel": gettext_lazy("Channel"), "category": gettext_lazy("Category"), "team": gettext_lazy("Team"),
    "agent": gettext_lazy("Agent"), "tier": gettext_lazy("Customer tier"), "priority": gettext_lazy("Priority")}
CHOICES: dict[str, dict[str, str | Promise]] = {
    "channel": dict(Channel.choices), "tier": dict(Tier.choices), "priority": dict(Priority.choices)}


def kpis(figures: Figures) -> dict[str, float | int | None]:
    """Every figure of ``FIELDS`` from one set of counters, computed by ``selectors.Figures`` as everywhere else."""
    return {
        "volume": figures.volume,
        "first_responses": figures.n("first_response"),
        "first_response_mean": figures.first_response_mean,
        "first_response_median": figures.percentile("first_response", 0.5),
        "resolved": figures.n("resolved"),
        "resolution_mean": figures.resolution_mean,
        "resolution_median": figures.percentile("resolved", 0.5),
        **{key: value for clock in ("first_response", "update", "resolution") for key, value in (
            (f"sla_met_{clock}", figures.n(f"sla_met_{clock}")), (f"sla_decided_{clock}", figures.sla_decided(clock)),
            (f"sla_{clock}", figures.sla_compliance(clock)))},
        "handled": figures.handled, "handling_mean": figures.handling_mean,
        "bot_ended": figures.n("bot_ended"), "bot_resolved": figures.n("bot_resolved"),
        "bot_resolution_rate": figures.bot_resolution_rate, "bot_handed_off": figures.n("bot_handed_off"),
        "bot_handoff_rate": figures.bot_handoff_rate,
        "fcr": figures.n("fcr"), "fcr_rate": figures.fcr_rate,
        "reopened": figures.n("reopened"), "reopen_rate": figures.reopen_rate,
        "transferred": figures.n("transferred"), "transfer_rate": figures.transfer_rate,
        "escalated": figures.n("escalated"), "escalation_rate": figures.escalation_rate,
        "channel_switched": figures.n("channel_switch"), "channel_switch_rate": figures.channel_switch_rate,
        "csat_answers": figures.n("csat_answers"), "csat_satisfied": figures.n("csat_satisfied"), "csat": figures.csat,
        "nps_answers": figures.n("nps_answers"), "nps_promoters": figures.n("nps_promoters"),
        "nps_detractors": figures.n("nps_detractors"), "nps": figures.nps,
        "qa_reviews": figures.n("qa_reviews"), "qa_passed": figures.n("qa_passed"),
        "qa_pass_rate": figures.qa_pass_rate,
    }


# --- Periods ---------------------------------------------------------------------------------------------------

def period(kind: str, start: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the week (from Monday) or month that begins on ``start``."""
    if kind == Report.Kind.WEEKLY and start.weekday() == 0:
        return start, start + dt.timedelta(days=6)
    if kind == Report.Kind.MONTHLY and start.day == 1:
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return start, following - dt.timedelta(days=1)
    raise DomainError(_("A report covers a week from Monday or a month from the 1st."))


def last_complete_start(kind: str, moment: dt.datetime) -> dt.date:
    """The first day of the latest period of the kind whose report is due at ``moment``: the period has ended and
    the report hour (local time) of the next day has come."""
    local = timezone.localtime(moment)
    today = local.date() if local.hour >= conf_reports.get("REPORT_HOUR") else local.date() - dt.timedelta(days=1)
    return latest_ended_start(kind, today)


def latest_ended_start(kind: str, today: dt.date) -> dt.date:
    """The first day of the latest period of the kind that ended before ``today``."""
    grain = "week" if kind == Report.Kind.WEEKLY else "month"
    return period_start(period_start(today, grain) - dt.timedelta(days=1), grain)


# --- Making reports --------------------------------------------------------------------------------------------

def compute(start: dt.date, end: dt.date) -> dict[str, Any]:
    """The figures of [start, end] for the whole help desk and per breakdown value, as stored on a report."""
    sets: dict[tuple[str, str], Figures] = defaultdict(Figures)
    rows = (Fact.objects.filter(day__gte=start, day__lte=end).order_by()
            .values_list("dimension", "value", "metric").annotate(sum_n=Sum("n"), sum_total=Sum("total")))
    for dimension, value, metric, n, total in rows:
        sets[(dimension, value)].add(metric, int(n or 0), float(total or 0.0))
    names = _names({dimension: [value for (d, value) in sets if d == dimension and value]
                    for dimension in ("team", "agent", "category")})
    breakdowns: dict[str, list[dict[str, Any]]] = {}
    for dimension in DIMENSIONS:
        entries: list[dict[str, Any]] = [{"value": value, **names.get((dimension, value), {}), "figures": kpis(figures)}
                                         for (d, value), figures in sets.items() if d == dimension]
        entries.sort(key=lambda entry: (-int(entry["figures"]["volume"] or 0), entry["value"] == "", entry["value"]))
        breakdowns[dimension] = entries
    return {"format": FORMAT, "totals": kpis(sets.get(("all", ""), Figures())), "breakdowns": breakdowns}


def _names(ids: dict[str, list[str]]) -> dict[tuple[str, str], dict[str, str]]:
    """Names of the teams, agents and categories the breakdowns mention, as they are when the report is made."""
    names: dict[tuple[str, str], dict[str, str]] = {}
    for pk, name in Department.objects.filter(pk__in=_ints(ids["team"])).values_list("pk", "name"):
        names[("team", str(pk))] = {"name": name}
    for user in User.objects.filter(pk__in=_ints(ids["agent"])).only(
            "username", "display_name", "first_name", "last_name"):
        names[("agent", str(user.pk))] = {"name": user.name}
    for pk, name_en, name_zh in Category.objects.filter(pk__in=_ints(ids["category"])).values_list(
            "pk", "name_en", "name_zh"):
        names[("category", str(pk))] = {"name": name_en, "name_zh": name_zh}
    return names


def _ints(values: Iterable[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit()]


def generate_report(kind: str, start: dt.date) -> Report:
    """Make (or make again, in place) the report of the period of the kind that begins on ``start``; the period
    must have ended. Idempotent: one row per kind and period, whatever the number of calls."""
    start, end = period(kind, start)
    if end >= timezone.localdate(now()):
        raise DomainError(_("This period has not ended yet."))
    figures = compute(start, end)
    with transaction.atomic():
        report, _created = Report.objects.update_or_create(
            kind=kind, start=start, defaults={"end": end, "figures": figures, "generated_at": now()})
    return report


def generate_latest(kind: str, *, actor: User) -> Report:
    """The "generate now" of the reports page: the latest ended period of the kind, made or made again."""
    if actor.role not in GENERATES:
        raise PermissionDenied(_("Only supervisors and administrators generate reports."))
    if kind not in Report.Kind.values:
        raise DomainError(_("Unknown kind of report."))
    start = latest_ended_start(kind, timezone.localdate(now()))
    with transaction.atomic():
        report = generate_report(kind, start)
        record_audit("report.generated", report, actor=actor, changes={"kind": kind, "start": start.isoformat()})
    return report


def send_due_reports() -> int:
    """Make each kind's report once its period has ended and the report hour has come, and queue one mail per
    active subscriber, once per report. Safe to run twice at once; returns how many mails were queued. The
    scheduler runs it every few minutes (kefu/analytics/tasks.py)."""
    queued = 0
    for kind in Report.Kind.values:
        start = last_complete_start(kind, now())
        if Report.objects.filter(kind=kind, start=start, mailed_at__isnull=False).exists():
            continue
        with transaction.atomic():
            report = generate_report(kind, start)
            if Report.objects.filter(pk=report.pk, mailed_at__isnull=True).update(mailed_at=now()):
                queued += _mail_subscribers(report)
    return queued


def _mail_subscribers(report: Report) -> int:
    subscriptions = (ReportSubscription.objects.filter(kind=report.kind, active=True, user__is_active=True,
                                                       user__role__in=READS_ALL)
                     .exclude(user__email="").select_related("user"))
    url = settings.PUBLIC_BASE_URL + reverse("web:console_report", args=[report.pk])
    count = 0
    for subscription in subscriptions:
        user = subscription.user
        language = "en" if (user.language or settings.LANGUAGE_CODE).lower().startswith("en") else "zh-hans"
        with translation.override(language):
            totals = report.figures.get("totals", {})
            context = {"name": user.name, "kind": report.kind, "start": report.start.isoformat(),
                       "end": report.end.isoformat(), "url": url,
                       **{key: display(key, totals.get(key)) for key in (
                           "volume", "first_response_mean", "resolution_mean", "fcr_rate", "csat", "nps",
                           "qa_pass_rate")}}
        queue_notification(recipient=user.email, template="report", context=context, language=language)
        count += 1
    return count


# --- Reading reports (supervisors, administrators and QA: the whole help desk) ------------------------------------

def require_reader(actor: object) -> None:
    """Reports are for those who read the whole help desk; anybody else is refused (403)."""
    if not scope_of(actor).everything:
        raise PermissionDenied(_("Reports are read by supervisors, administrators and QA reviewers."))


def readable_reports(actor: object) -> QuerySet[Report]:
    """The newest reports first, without their figures (the list needs none)."""
    require_reader(actor)
    return Report.objects.defer("figures").order_by("-start", "-id")[:conf_reports.get("REPORT_LIST_LIMIT")]


def get_report_for(actor: object, report_id: int) -> Report:
    require_reader(actor)
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("No such report."))
    return report


def subscribed_kinds(actor: User) -> set[str]:
    return set(ReportSubscription.objects.filter(user=actor, active=True).values_list("kind", flat=True))


def set_subscription(kind: str, subscribed: bool, *, actor: User) -> None:
    """Start or stop receiving a kind of report by email (the reader's own subscription only)."""
    require_reader(actor)
    if kind not in Report.Kind.values:
        raise DomainError(_("Unknown kind of report."))
    with transaction.atomic():
        subscription, _created = ReportSubscription.objects.update_or_create(
            user=actor, kind=kind, defaults={"active": subscribed})
        record_audit("report.subscription", subscription, actor=actor, changes={"active": subscribed})


# --- Showing figures -----------------------------------------------------------------------------------------

def _duration(seconds: float) -> str:
    if seconds < 3600:
        return _("%(n)s min") % {"n": f"{seconds / 60:.1f}"}
    if seconds < 2 * 86400:
        return _("%(n)s h") % {"n": f"{seconds / 3600:.1f}"}
    return _("%(n)s d") % {"n": f"{seconds / 86400:.1f}"}


def display(key: str, value: float | int | None, figures: dict[str, Any] | None = None) -> str:
    """A figure as people read it: "—" for a rate or mean without a denominator; a median as its bucket's bound."""
    field = FIELD[key]
    if value is None:
        if field.style == "median" and figures and figures.get(field.denominator):
            return _("> 30 d")  # past the last duration bucket
        return "—"
    match field.style:
        case "seconds":
            return _duration(float(value))
        case "median":
            return "≤ " + _duration(float(value))
        case "rate":
            return f"{100 * float(value):.1f} %"
        case "points":
            return f"{float(value):+.0f}"
    return str(int(value))


def value_label(dimension: str, entry: dict[str, Any]) -> str:
    """A breakdown row's name: the choice's label, or the team's, agent's or category's name when the report was
    made; "none" for tickets without one."""
    value = str(entry.get("value", ""))
    if not value:
        return _("none")
    if dimension in CHOICES:
        return str(CHOICES[dimension].get(value, value))
    if dimension == "category" and (translation.get_language() or "").startswith("zh") and entry.get("name_zh"):
        return str(entry["name_zh"])
    return str(entry.get("name") or f"#{value}")


def totals_rows(report: Report) -> list[dict[str, str]]:
    """The totals table: each headline figure with its numerator and denominator."""
    totals = report.figures.get("totals", {})
    return [{"label": str(field.label), "value": display(field.key, totals.get(field.key), totals),
             "numerator": str(totals.get(field.numerator, "")) if field.numerator else "",
             "denominator": str(totals.get(field.denominator, "")) if field.denominator else ""}
            for field in KPIS]


def breakdown_tables(report: Report) -> list[dict[str, Any]]:
    """One table per breakdown: a row per value, the headline figures as columns."""
    breakdowns = report.figures.get("breakdowns", {})
    return [{"dimension": dimension, "label": str(DIMENSION_LABELS[dimension]),
             "rows": [{"name": value_label(dimension, entry),
                       "cells": [display(field.key, entry["figures"].get(field.key), entry["figures"])
                                 for field in KPIS]}
                      for entry in breakdowns.get(dimension, [])]}
            for dimension in DIMENSIONS]


def title(report: Report) -> str:
    if report.kind == Report.Kind.MONTHLY:
        return _("Monthly report %(start)s – %(end)s") % {"start": report.start, "end": report.end}
    return _("Weekly report %(start)s – %(end)s") % {"start": report.start, "end": report.end}


def filename(report: Report, extension: str) -> str:
    """ASCII only, from the report's own fields: safe in a Content-Disposition header."""
    return f"kefu-{report.kind}-report-{report.start:%Y-%m-%d}.{extension}"


# --- Downloads -----------------------------------------------------------------------------------------------

def _rows(report: Report) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(section, value, name, figures): the totals, then each breakdown's rows."""
    yield "total", "", "", report.figures.get("totals", {})
    for dimension in DIMENSIONS:
        for entry in report.figures.get("breakdowns", {}).get(dimension, []):
            yield dimension, str(entry["value"]), value_label(dimension, entry), entry["figures"]


def _cell_text(text: str) -> str:
    """A name that a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def to_csv(report: Report) -> bytes:
    """One table: a row for the totals and one per breakdown value; figures as plain numbers (seconds; rates as
    shares 0–1; empty where there is no denominator). UTF-8 with a byte-order mark, which spreadsheets need to
    read Chinese names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "value", "name", *(field.key for field in FIELDS)])
    for section, value, name, figures in _rows(report):
        writer.writerow([section, value, _cell_text(name),
                         *("" if figures.get(f.key) is None else figures[f.key] for f in FIELDS)])
    return buffer.getvalue().encode("utf-8-sig")


def _sheet_name(label: str, used: set[str]) -> str:
    name = "".join("_" if char in "[]:*?/\\" else char for char in label)[:31] or "sheet"
    while name in used:
        name = name[:28] + f"_{len(used)}"
    used.add(name)
    return name


def to_xlsx(report: Report) -> bytes:
    """A workbook written in memory: a sheet of totals (each figure with its numerator and denominator), then one
    sheet per breakdown. Durations are spreadsheet durations ([h]:mm:ss), rates percentages; every text cell is
    written as text, never as a formula."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    styles = {"count": book.add_format({"num_format": "0"}), "seconds": book.add_format({"num_format": "[h]:mm:ss"}),
              "rate": book.add_format({"num_format": "0.0%"}), "points": book.add_format({"num_format": "0"})}
    styles["median"] = styles["seconds"]
    used: set[str] = set()

    def write_figure(sheet: Any, row: int, column: int, field: Field, value: float | int | None) -> None:
        if value is None:
            sheet.write_blank(row, column, None)
        elif field.style in {"seconds", "median"}:
            sheet.write_number(row, column, float(value) / 86400, styles[field.style])
        else:
            sheet.write_number(row, column, value, styles[field.style])

    totals = report.figures.get("totals", {})
    sheet = book.add_worksheet(_sheet_name(_("Totals"), used))
    sheet.write_string(0, 0, title(report), bold)
    for column, heading in enumerate((_("Figure"), _("Value"), _("Numerator"), _("Denominator"))):
        sheet.write_string(2, column, heading, bold)
    for row, field in enumerate(FIELDS, start=3):
        sheet.write_string(row, 0, str(field.label))
        write_figure(sheet, row, 1, field, totals.get(field.key))
        for column, key in ((2, field.numerator), (3, field.denominator)):
            if key:
                sheet.write_number(row, column, int(totals.get(key) or 0))
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, 3, 14)

    breakdowns = report.figures.get("breakdowns", {})
    for dimension in DIMENSIONS:
        sheet = book.add_worksheet(_sheet_name(str(DIMENSION_LABELS[dimension]), used))
        sheet.write_string(0, 0, str(DIMENSION_LABELS[dimension]), bold)
        for column, field in enumerate(FIELDS, start=1):
            sheet.write_string(0, column, str(field.label), bold)
        for row, entry in enumerate(breakdowns.get(dimension, []), start=1):
            sheet.write_string(row, 0, value_label(dimension, entry))
            for column, field in enumerate(FIELDS, start=1):
                write_figure(sheet, row, column, field, entry["figures"].get(field.key))
        sheet.set_column(0, 0, 24)
        sheet.set_column(1, len(FIELDS), 12)
        sheet.freeze_panes(1, 1)
    book.close()
    return buffer.getvalue()
