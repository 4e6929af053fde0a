"""Every write of the feedback loop: surveys sent, reminded and expired by the sweep; the customer's answers
(once); the follow-up of a bad score by a supervisor; thanks and the service experience panel; the
questions that administrators edit.

Each ticket-related write records its step on the ticket's timeline (the audit row) and queues the
customer's message through the outbox, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.core.ids import digest, new_secret
from kefu.feedback import conf
from kefu.feedback.models import FollowUpTask, PanelMember, Survey, SurveyAnswer, SurveyQuestion
from kefu.notifications.services import StaffAlertRequest, alert_staff_many, queue_notification
from kefu.sla import businesstime as bt
from kefu.sla.calendars import calendar_for
from kefu.sla.models import BusinessCalendar
from kefu.tickets.models import Ticket
from kefu.tickets.services import customer_route, record_ticket_event, tracking_url

BATCH = 200
MAX_COMMENT = 2000
FOLLOWUP_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
LANGUAGES = ("zh-hans", "en")


def survey_url(secret: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/s/{secret}/"


def survey_language(ticket: Ticket) -> str:
    """The customer's language, as one of the two the survey is written in."""
    wanted = (ticket.language or ticket.customer.language or settings.LANGUAGE_CODE or "zh-hans").lower()
    return "zh-hans" if wanted.startswith("zh") else "en" if wanted.startswith("en") else LANGUAGES[0]


def _message_context(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    return {"number": ticket.number, "subject": ticket.subject, "customer_name": ticket.customer.name,
            "tracking_url": tracking_url(ticket), **extra}


def _queue(survey: Survey, ticket: Ticket, template: str, **extra: Any) -> None:
    _channel, recipient = customer_route(ticket)
    queue_notification(recipient=recipient, channel=survey.channel, template=template, language=survey.language,
                       ticket_id=ticket.pk, context=_message_context(ticket, **extra))


# ---------------------------------------------------------------------------------------------- the sweep


def send_due_surveys(limit: int = BATCH) -> int:
    """Survey each ticket closed at least SURVEY_DELAY_HOURS ago (and within SURVEY_VALID_DAYS) that has no
    survey yet. Idempotent: a ticket gets one Survey row, sent or skipped. Returns how many were sent."""
    moment = now()
    due = list(Ticket.objects.filter(
        status="closed", closed_at__lte=moment - dt.timedelta(hours=conf.get("SURVEY_DELAY_HOURS")),
        closed_at__gt=moment - dt.timedelta(days=conf.get("SURVEY_VALID_DAYS")), survey__isnull=True,
    ).order_by("closed_at").values_list("pk", flat=True)[:limit])
    surveys = [survey_ticket(ticket_id) for ticket_id in due]
    return sum(1 for survey in surveys if survey is not None and survey.state == Survey.State.SENT)


def survey_ticket(ticket_id: int) -> Survey | None:
    """The survey of one closed ticket, sent now (or recorded as skipped); None if it already had one."""
    try:
        with transaction.atomic():
            return _survey_ticket(ticket_id)
    except IntegrityError:  # another sweep surveyed it at the same moment
        return None


def _survey_ticket(ticket_id: int) -> Survey | None:
    ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("customer")
              .filter(pk=ticket_id, status="closed").first())
    if ticket is None or Survey.objects.filter(ticket_id=ticket_id).exists():
        return None
    moment = now()
    channel, recipient = customer_route(ticket)
    survey = Survey(ticket=ticket, customer=ticket.customer, language=survey_language(ticket), channel=channel,
                    created_at=moment)
    secret = new_secret()
    survey.token_digest = digest(secret)
    recent = Survey.objects.filter(
        customer_id=ticket.customer_id,
        sent_at__gt=moment - dt.timedelta(days=conf.get("SURVEY_MIN_DAYS_BETWEEN"))).exists()
    if recent or not recipient:
        survey.state = Survey.State.SKIPPED
        survey.skip_reason = Survey.SkipReason.RECENTLY_SURVEYED if recent else Survey.SkipReason.NO_CHANNEL
        survey.save()
        record_ticket_event(ticket, "survey_skipped", actor=None, reason=survey.skip_reason)
        return survey
    assert ticket.closed_at is not None  # the query asked for closed tickets
    survey.sent_at = moment
    survey.expires_at = moment + dt.timedelta(days=conf.get("SURVEY_VALID_DAYS"))
    survey.late = moment > ticket.closed_at + dt.timedelta(hours=conf.get("SURVEY_SEND_WITHIN_HOURS"))
    survey.save()
    _queue(survey, ticket, "survey", survey_url=survey_url(secret), days=conf.get("SURVEY_VALID_DAYS"))
    record_ticket_event(ticket, "survey_sent", actor=None, channel=channel, language=survey.language,
                        late=survey.late, expires_at=survey.expires_at.isoformat())
    return survey


def remind_unanswered(limit: int = BATCH) -> int:
    """One reminder, with a second link to the same survey, SURVEY_REMINDER_HOURS after it was sent."""
    moment = now()
    due = list(Survey.objects.filter(
        state=Survey.State.SENT, reminded_at__isnull=True, expires_at__gt=moment,
        sent_at__lte=moment - dt.timedelta(hours=conf.get("SURVEY_REMINDER_HOURS")),
    ).values_list("pk", flat=True)[:limit])
    reminded = 0
    for survey_id in due:
        with transaction.atomic():
            survey = (Survey.objects.select_for_update(of=("self",)).select_related("ticket__customer")
                      .filter(pk=survey_id, state=Survey.State.SENT, reminded_at__isnull=True).first())
            if survey is None:
                continue
            secret = new_secret()
            survey.reminder_digest, survey.reminded_at = digest(secret), moment
            survey.save(update_fields=["reminder_digest", "reminded_at"])
            _queue(survey, survey.ticket, "survey_reminder", survey_url=survey_url(secret),
                   expires_on=survey.expires_at.date().isoformat() if survey.expires_at else "")
            record_ticket_event(survey.ticket, "survey_reminded", actor=None)
            reminded += 1
    return reminded


def expire_surveys(limit: int = BATCH) -> int:
    moment = now()
    due = list(Survey.objects.filter(state=Survey.State.SENT, expires_at__lte=moment)
               .values_list("pk", flat=True)[:limit])
    expired = 0
    for survey_id in due:
        with transaction.atomic():
            survey = (Survey.objects.select_for_update(of=("self",)).select_related("ticket")
                      .filter(pk=survey_id, state=Survey.State.SENT).first())
            if survey is None:
                continue
            survey.state = Survey.State.EXPIRED
            survey.save(update_fields=["state"])
            record_ticket_event(survey.ticket, "survey_expired", actor=None, reminded=survey.reminded_at is not None)
            expired += 1
    return expired


# ---------------------------------------------------------------------------------------------- answers


def find_survey(token: str, *, for_update: bool = False) -> Survey:
    """The survey a link's secret opens; NotFound for an unknown secret (or a survey never sent)."""
    if not token or len(token) > 100:
        raise NotFound(_("This survey link is not valid."))
    secret = digest(token)
    surveys = Survey.objects.select_related("ticket__customer").exclude(state=Survey.State.SKIPPED)
    if for_update:
        surveys = surveys.select_for_update(of=("self",))
    survey = surveys.filter(Q(token_digest=secret) | Q(reminder_digest=secret)).first()
    if survey is None:
        raise NotFound(_("This survey link is not valid."))
    return survey


def _clean_answers(questions: list[SurveyQuestion], raw: Mapping[str, str]) -> list[SurveyAnswer]:
    answers, missing = [], []
    for question in questions:
        value = (raw.get(question.key) or "").strip()
        if not value:
            if question.required:
                missing.append(question.text())
            continue
        if question.kind == SurveyQuestion.Kind.COMMENT:
            answers.append(SurveyAnswer(question=question, text=value[:MAX_COMMENT]))
            continue
        if not value.isdigit() or int(value) not in question.choices:
            raise DomainError(_("Choose one of the marks offered for: %(question)s") % {"question": question.text()},
                              code="invalid_score")
        answers.append(SurveyAnswer(question=question, score=int(value)))
    if missing:
        raise DomainError(_("Please answer: %(questions)s") % {"questions": "; ".join(missing)}, code="incomplete")
    return answers


def _deserves_thanks(scores: dict[str, int], bad: bool) -> bool:
    """Thanks go to a customer whose overall score is 5 and who gave no bad score (with no overall
    question, every 1–5 score must be 5)."""
    if bad or not scores:
        return False
    return scores["overall"] == 5 if "overall" in scores else all(score == 5 for score in scores.values())


@transaction.atomic
def submit_survey(token: str, answers: Mapping[str, str]) -> Survey:
    """Record the customer's answers, once. A bad score opens a follow-up task for a supervisor; a top
    score sends thanks. A used link is refused (code "already_answered") and changes nothing."""
    survey = find_survey(token, for_update=True)
    if survey.state == Survey.State.ANSWERED:
        raise DomainError(_("This survey was already answered. Thank you!"), code="already_answered")
    if not survey.is_open:
        raise DomainError(_("This survey link has expired."), code="expired")
    with translation.override(survey.language):
        rows = _clean_answers(list(SurveyQuestion.objects.filter(active=True)), answers)
    for row in rows:
        row.survey = survey
    SurveyAnswer.objects.bulk_create(rows)
    scores = {r.question.key: r.score for r in rows if r.question.kind == SurveyQuestion.Kind.SCORE
              and r.score is not None}
    nps = next((r.score for r in rows if r.question.kind == SurveyQuestion.Kind.NPS), None)
    comment = "\n".join(r.text for r in rows if r.question.kind == SurveyQuestion.Kind.COMMENT)
    moment = now()
    survey.bad = any(score <= conf.get("SURVEY_BAD_SCORE") for score in scores.values())
    survey.thanked = _deserves_thanks(scores, survey.bad)
    survey.state, survey.answered_at = Survey.State.ANSWERED, moment
    survey.save(update_fields=["state", "answered_at", "bad", "thanked"])
    ticket = survey.ticket
    record_ticket_event(ticket, "survey_answered", actor=None, public=False, scores=scores, nps=nps,
                        bad=survey.bad, comment=comment)
    if survey.bad:
        _open_followup(survey, scores)
    if survey.thanked:
        _queue(survey, ticket, "survey_thanks")
    return survey


@transaction.atomic
def join_panel(token: str) -> PanelMember:
    """The customer accepts the invitation to the service experience panel, offered after a top score."""
    survey = find_survey(token, for_update=True)
    if not survey.thanked:
        raise DomainError(_("The invitation to the panel is not open for this survey."), code="not_invited")
    member, created = PanelMember.objects.get_or_create(customer_id=survey.customer_id, defaults={
        "survey": survey, "language": survey.language})
    if created:
        record_audit("feedback.panel_joined", member, actor=None, changes={"ticket": survey.ticket_id})
    return member


# ---------------------------------------------------------------------------------------------- follow-up


def _followup_calendar() -> bt.Calendar:
    name = conf.get("FOLLOWUP_CALENDAR")
    calendar_id = BusinessCalendar.objects.filter(name=name).values_list("pk", flat=True).first() if name else None
    return calendar_for(calendar_id, settings.TIME_ZONE)


def _followup_supervisor(ticket: Ticket) -> User | None:
    """The ticket team's supervisor if it has one, else any active supervisor."""
    supervisors = User.objects.filter(role=Role.SUPERVISOR, is_active=True).order_by("pk")
    if ticket.team_id is not None:
        in_team = supervisors.filter(departments=ticket.team_id).first()
        if in_team is not None:
            return in_team
    return supervisors.first()


def _open_followup(survey: Survey, scores: dict[str, int]) -> FollowUpTask:
    ticket, moment = survey.ticket, now()
    calendar = _followup_calendar()
    task = FollowUpTask.objects.create(
        ticket=ticket, survey=survey, assignee=_followup_supervisor(ticket), opened_at=moment,
        contact_due_at=bt.add(calendar, moment, conf.get("FOLLOWUP_CONTACT_HOURS") * 3600),
        callback_due_at=bt.add(calendar, moment, conf.get("FOLLOWUP_CALLBACK_HOURS") * 3600))
    record_ticket_event(ticket, "followup_opened", actor=None, task_id=task.pk,
                        assignee=task.assignee.name if task.assignee else "",
                        contact_due_at=task.contact_due_at.isoformat(),
                        callback_due_at=task.callback_due_at.isoformat())
    if task.assignee is not None:
        low = ", ".join(f"{key} {score}" for key, score in scores.items() if score <= conf.get("SURVEY_BAD_SCORE"))
        alert_staff_many([StaffAlertRequest(
            user=task.assignee, kind="followup_opened", ticket_id=ticket.pk,
            text=lambda _language: _("Ticket #%(number)s: the customer gave a low score (%(scores)s); contact "
                                     "them within the hour.") % {"number": ticket.number, "scores": low})])
    return task


def _require_followup_role(actor: User) -> None:
    if not (actor.is_active and actor.role in FOLLOWUP_ROLES):
        raise PermissionDenied(_("Only supervisors and administrators follow up survey scores."))


def _locked(task: FollowUpTask) -> FollowUpTask:
    return FollowUpTask.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=task.pk)


def _append(notes: str, note: str, actor: User, moment: dt.datetime) -> str:
    note = note.strip()
    if not note:
        return notes
    line = f"[{moment:%Y-%m-%d %H:%M} {actor.name}] {note}"
    return f"{notes}\n{line}" if notes else line


@transaction.atomic
def record_contact(task: FollowUpTask, *, note: str = "", actor: User) -> FollowUpTask:
    """The supervisor's first contact with the customer (due within FOLLOWUP_CONTACT_HOURS)."""
    _require_followup_role(actor)
    task = _locked(task)
    if task.state != FollowUpTask.State.OPEN:
        raise DomainError(_("The first contact is already recorded."), code="already_contacted")
    moment = now()
    task.state, task.contacted_at = FollowUpTask.State.CONTACTED, moment
    task.notes = _append(task.notes, note, actor, moment)
    task.save(update_fields=["state", "contacted_at", "notes"])
    record_ticket_event(task.ticket, "followup_contacted", actor=actor, task_id=task.pk,
                        late=moment > task.contact_due_at, note=note.strip())
    return task


@transaction.atomic
def record_callback(task: FollowUpTask, *, note: str = "", actor: User) -> FollowUpTask:
    """The one-to-one callback (due within FOLLOWUP_CALLBACK_HOURS); it counts as the first contact too
    when none was recorded."""
    _require_followup_role(actor)
    task = _locked(task)
    if task.state == FollowUpTask.State.CLOSED or task.callback_at is not None:
        raise DomainError(_("The callback is already recorded."), code="already_called_back")
    moment = now()
    fields = ["state", "callback_at", "notes"]
    if task.contacted_at is None:
        task.contacted_at = moment
        fields.append("contacted_at")
    task.state, task.callback_at = FollowUpTask.State.CONTACTED, moment
    task.notes = _append(task.notes, note, actor, moment)
    task.save(update_fields=fields)
    record_ticket_event(task.ticket, "followup_callback", actor=actor, task_id=task.pk,
                        late=moment > task.callback_due_at, note=note.strip())
    return task


@transaction.atomic
def close_followup(task: FollowUpTask, *, apology: bool, remedy: str, compensation: str, root_cause: str,
                   note: str = "", actor: User) -> FollowUpTask:
    """The outcome: whether we apologised, the remedy, any compensation, and the root cause."""
    _require_followup_role(actor)
    task = _locked(task)
    if task.state == FollowUpTask.State.CLOSED:
        raise DomainError(_("This follow-up is already closed."), code="closed")
    if task.contacted_at is None:
        raise DomainError(_("Record the contact with the customer before the outcome."), code="not_contacted")
    root_cause = root_cause.strip()
    if not root_cause:
        raise DomainError(_("Record the root cause before closing the follow-up."), code="root_cause_required")
    moment = now()
    task.apology, task.remedy, task.compensation = apology, remedy.strip(), compensation.strip()[:200]
    task.root_cause, task.state, task.closed_at = root_cause, FollowUpTask.State.CLOSED, moment
    task.notes = _append(task.notes, note, actor, moment)
    task.save(update_fields=["apology", "remedy", "compensation", "root_cause", "state", "closed_at", "notes"])
    record_ticket_event(task.ticket, "followup_closed", actor=actor, task_id=task.pk, apology=apology,
                        remedy=task.remedy, compensation=task.compensation, root_cause=root_cause)
    return task


def flag_overdue_followups(limit: int = BATCH) -> int:
    """Each deadline missed (first contact, callback) is recorded once and alerted to the assignee."""
    moment = now()
    contact = FollowUpTask.objects.filter(state=FollowUpTask.State.OPEN, contact_due_at__lte=moment,
                                          contact_overdue_at__isnull=True)
    callback = FollowUpTask.objects.filter(state__in=[FollowUpTask.State.OPEN, FollowUpTask.State.CONTACTED],
                                           callback_at__isnull=True, callback_due_at__lte=moment,
                                           callback_overdue_at__isnull=True)
    flagged = 0
    for stage, rows in (("contact", contact), ("callback", callback)):
        for task_id in list(rows.values_list("pk", flat=True)[:limit]):
            flagged += _flag_overdue(task_id, stage, moment)
    return flagged


@transaction.atomic
def _flag_overdue(task_id: int, stage: str, moment: dt.datetime) -> int:
    mark = f"{stage}_overdue_at"
    task = (FollowUpTask.objects.select_for_update(of=("self",)).select_related("ticket", "assignee")
            .filter(pk=task_id, **{f"{mark}__isnull": True}).first())
    if task is None:
        return 0
    setattr(task, mark, moment)
    task.save(update_fields=[mark])
    due = task.contact_due_at if stage == "contact" else task.callback_due_at
    record_ticket_event(task.ticket, "followup_overdue", actor=None, task_id=task.pk, stage=stage,
                        due_at=due.isoformat())
    if task.assignee is not None and task.assignee.is_active:
        number = task.ticket.number
        if stage == "contact":
            def text(_language: str) -> str:
                return _("Ticket #%(number)s: the customer who gave a low score has not been contacted in "
                         "time.") % {"number": number}
        else:
            def text(_language: str) -> str:
                return _("Ticket #%(number)s: the one-to-one callback after a low score is overdue.") % {
                    "number": number}
        alert_staff_many([StaffAlertRequest(user=task.assignee, kind="followup_overdue", ticket_id=task.ticket_id,
                                            text=text)])
    return 1


# ---------------------------------------------------------------------------------------------- questions


def _require_admin(actor: User) -> None:
    if not (actor.is_active and actor.role == Role.ADMIN):
        raise PermissionDenied(_("Only administrators edit the survey's questions."))


@transaction.atomic
def save_question(question: SurveyQuestion | None, *, key: str, kind: str, text_en: str, text_zh: str,
                  required: bool, position: int, active: bool, actor: User) -> SurveyQuestion:
    """A new question, or an edit of one. A question that has answers keeps its kind."""
    _require_admin(actor)
    key, text_en, text_zh = key.strip().lower(), " ".join(text_en.split()), " ".join(text_zh.split())
    if kind not in SurveyQuestion.Kind.values:
        raise DomainError(_("Choose a kind from the list."), code="invalid_kind")
    if not text_en or not text_zh:
        raise DomainError(_("Write the question in both languages."), code="incomplete")
    if question is None:
        if not key or not key.replace("-", "").replace("_", "").isalnum() or not key.isascii() or len(key) > 40:
            raise DomainError(_("The key may contain lower-case letters, digits, hyphens and underscores."),
                              code="invalid_key")
        if SurveyQuestion.objects.filter(key=key).exists():
            raise DomainError(_("A question with the key %(key)s exists already.") % {"key": key},
                              code="duplicate_key")
        question = SurveyQuestion(key=key)
    elif question.kind != kind and question.answers.exists():
        raise DomainError(_("This question has answers; its kind cannot change. Retire it and add a new one."),
                          code="kind_locked")
    question.kind, question.text_en, question.text_zh = kind, text_en[:300], text_zh[:300]
    question.required, question.position, question.active = required, max(0, position), active
    question.save()
    record_audit("feedback.question_saved", question, actor=actor, changes={
        "key": question.key, "kind": kind, "required": required, "active": active})
    return question


@transaction.atomic
def remove_question(question: SurveyQuestion, *, actor: User) -> bool:
    """Deleted if nobody answered it; otherwise retired (kept for the old answers). True if deleted."""
    _require_admin(actor)
    if question.answers.exists():
        question.active = False
        question.save(update_fields=["active"])
        record_audit("feedback.question_retired", question, actor=actor)
        return False
    record_audit("feedback.question_deleted", question, actor=actor, changes={"key": question.key})
    question.delete()
    return True
