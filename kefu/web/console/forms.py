"""Forms of the agent console: they parse and validate input; the services decide what is allowed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from kefu.assist.models import ReplyTemplate
from kefu.customers.models import Channel, Tier
from kefu.tickets import selectors
from kefu.tickets.fivew1h import FIELDS as FIVE_W_ONE_H_FIELDS
from kefu.tickets.models import STATUS_CHOICES, Category, Complexity, Priority
from kefu.tickets.services import MAX_SOLUTIONS, Upload, upload_from

DATED_CHOICES = [
    ("created", _("Created")),
    ("first_response", _("First answered")),
    ("resolved", _("Resolved")),
]
OWNER_MINE = "mine"
OWNER_UNASSIGNED = "unassigned"

SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("updated", _("Recently updated")),
    ("priority", _("Priority")),
]


def _start_of_day(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the user's time zone (the middleware activates it)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


class TicketFilterForm(forms.Form):
    """The list's filters, read from the query string; every field is optional."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    priority = forms.MultipleChoiceField(label=_("Priority"), required=False, choices=Priority.choices)
    category = forms.ModelMultipleChoiceField(label=_("Category"), required=False,
                                              queryset=Category.objects.none())
    channel = forms.MultipleChoiceField(label=_("Channel"), required=False, choices=Channel.choices)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=20)
    team = forms.TypedMultipleChoiceField(label=_("Team"), required=False, coerce=int, choices=[])
    tier = forms.MultipleChoiceField(label=_("Customer tier"), required=False, choices=Tier.choices)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    # Which moment the date range reads: the dashboard's figures open the tickets behind them this way.
    dated = forms.ChoiceField(label=_("Dates"), required=False, choices=DATED_CHOICES)
    created_from = forms.DateField(label=_("From"), required=False)
    created_to = forms.DateField(label=_("To"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1)

    def __init__(self, *args: Any, teams: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.active_categories()  # type: ignore[attr-defined]
        self.fields["team"].choices = [(t.pk, t.name) for t in teams]  # type: ignore[attr-defined]

    def clean_owner(self) -> str:
        owner = self.cleaned_data["owner"].strip()
        if owner and owner not in {OWNER_MINE, OWNER_UNASSIGNED} and not owner.isdigit():
            raise forms.ValidationError(_("Choose an owner from the list."))
        return owner

    def to_filters(self, actor: Any) -> selectors.TicketFilters:
        data = self.cleaned_data
        filters = selectors.TicketFilters(
            status=data["status"], priority=data["priority"],
            category=[c.pk for c in data["category"]], channel=data["channel"], team=data["team"],
            tier=data["tier"], tags=[data["tag"].strip()] if data["tag"].strip() else [],
            q=data["q"], sort=data["sort"] or "newest", customer=data["customer"], dated=data["dated"] or "created",
        )
        owner = data["owner"]
        if owner == OWNER_MINE:
            filters.owner = [actor.pk]
        elif owner == OWNER_UNASSIGNED:
            filters.unassigned = True
        elif owner:
            filters.owner = [int(owner)]
        if data["created_from"]:
            filters.created_from = _start_of_day(data["created_from"])
        if data["created_to"]:
            # "to" includes the whole day: the bound is the next midnight, exclusive.
            filters.created_to = _start_of_day(data["created_to"] + dt.timedelta(days=1))
        return filters


MAX_BULK_TICKETS = 200


class BulkForm(forms.Form):
    OPERATIONS = [("assign", _("Assign to")), ("priority", _("Set priority")), ("status", _("Change status"))]

    ticket_ids = forms.TypedMultipleChoiceField(coerce=int, required=True, error_messages={
        "required": _("Tick at least one ticket.")})
    operation = forms.ChoiceField(choices=OPERATIONS)
    value = forms.CharField(max_length=40,
                            error_messages={"required": _("Choose a value for the bulk action.")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The ids are checked against the access layer by the view; here they only need to be numbers.
        ids = self.data.getlist("ticket_ids") if hasattr(self.data, "getlist") else []
        self.fields["ticket_ids"].choices = [(i, i) for i in ids if str(i).isdigit()]  # type: ignore[attr-defined]

    def clean_ticket_ids(self) -> list[int]:
        ids = list(dict.fromkeys(self.cleaned_data["ticket_ids"]))
        if len(ids) > MAX_BULK_TICKETS:
            raise forms.ValidationError(_("Change at most %(max)s tickets at once.") % {"max": MAX_BULK_TICKETS})
        return ids


class PlainSelect(forms.Select):
    """A single select written out here rather than through Django's widget templates, which render every
    option (and its attributes) as a template of its own. No option groups and no per-option attributes,
    which these selects don't use."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join("", "<option value=\"{}\"{}>{}</option>", (
            (option["value"], " selected" if option["selected"] else "", option["label"])
            for _group, group_options, _index in widget["optgroups"] for option in group_options))
        return format_html("<select name=\"{}\"{}>{}</select>", widget["name"], flatatt(widget["attrs"]), options)


class _ListedChoices(ModelChoiceIterator):
    """The choices from a list the field is given (a short-lived cache) instead of a query per rendering."""

    field: ListedModelChoiceField

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.rows():
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.field.rows()) + (self.field.empty_label is not None)


class ListedModelChoiceField(forms.ModelChoiceField):
    """Offers `rows()` (kept by the caller); what comes back is still looked up in `queryset`."""

    iterator = _ListedChoices

    def __init__(self, *, rows: Callable[[], list[Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows


class TicketUpdateForm(forms.Form):
    # Label, errors and widget written out in one template: Django's own field template renders each of
    # them as a template of its own (a sixth of the ticket page for these twelve fields).
    template_name_div = "web/console/_form_fields.html"

    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = ListedModelChoiceField(label=_("Category"), required=False, queryset=Category.objects.none(),
                                      rows=selectors.category_choices.get, widget=PlainSelect)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, widget=PlainSelect)
    complexity = forms.ChoiceField(label=_("Complexity"), choices=Complexity.choices, widget=PlainSelect)
    team = ListedModelChoiceField(label=_("Team"), required=False, queryset=selectors.support_teams(),
                                  rows=selectors.team_choices.get, widget=PlainSelect)
    tags = forms.CharField(label=_("Tags (comma-separated)"), required=False, max_length=500)
    what = forms.CharField(label=_("What happened"), required=False, widget=forms.Textarea)
    when = forms.CharField(label=_("When it happened"), required=False, max_length=200)
    where = forms.CharField(label=_("Where — which product or scene"), required=False, max_length=200)
    who = forms.CharField(label=_("Who / how many are affected"), required=False, max_length=200)
    how = forms.CharField(label=_("How — steps or error text"), required=False, widget=forms.Textarea)
    expected = forms.CharField(label=_("Expected outcome"), required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.active_categories()  # type: ignore[attr-defined]

    def changes(self) -> tuple[dict[str, Any], list[str]]:
        data = self.cleaned_data
        changes = {name: data[name] for name in ("subject", "category", "priority", "complexity", "team",
                                                 *FIVE_W_ONE_H_FIELDS)}
        tags = [t.strip() for t in data["tags"].replace("\uff0c", ",").split(",") if t.strip()]
        return changes, tags


class PhoneTicketForm(forms.Form):
    """What an agent captures while the customer is on the line."""

    caller = forms.CharField(label=_("Caller's number"), max_length=32)
    name = forms.CharField(label=_("Customer's name (a new caller)"), required=False, max_length=150)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    what = forms.CharField(label=_("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    when = forms.CharField(label=_("When it happened"), required=False, max_length=200)
    where = forms.CharField(label=_("Where — which product or scene"), required=False, max_length=200)
    who = forms.CharField(label=_("Who / how many are affected"), required=False, max_length=200)
    how = forms.CharField(label=_("How — steps or error text"), required=False,
                          widget=forms.Textarea(attrs={"rows": 2}))
    expected = forms.CharField(label=_("Expected outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label=_("Call notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_caller(self) -> str:
        caller = "".join(self.cleaned_data["caller"].split())
        if not any(ch.isdigit() for ch in caller):
            raise forms.ValidationError(_("Enter the caller's phone number."))
        return caller

    def facts(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in FIVE_W_ONE_H_FIELDS}


class MergeCustomerForm(forms.Form):
    target = forms.IntegerField(label=_("Merge into customer number"), min_value=1)


def solution_options(post: Any) -> list[dict[str, str]]:
    return [
        {
            "title": post.get(f"title_{i}", ""),
            "description": post.get(f"description_{i}", ""),
            "tradeoffs": post.get(f"tradeoffs_{i}", ""),
        }
        for i in range(1, MAX_SOLUTIONS + 1)
    ]


def uploads(files: Any) -> list[Upload]:
    return [upload_from(f) for f in files.getlist("files")]


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return str(_("Please check the form."))


class ReplyTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    locale = forms.ChoiceField(label=_("Language"), choices=ReplyTemplate.Locale.choices)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000, help_text=_(
        "Variables: {customer_name}, {ticket_number}, {agent_name}, {order_number}, {tracking_link}"))
    category = forms.ModelChoiceField(label=_("Category"), required=False, queryset=Category.objects.none())
    keywords = forms.CharField(label=_("Keywords"), required=False, max_length=300,
                               help_text=_("Words that make it a suggestion, separated by spaces or commas."))
    experiment = forms.CharField(label=_("A/B experiment"), required=False, max_length=100,
                                 help_text=_("Variants of one experiment share its name and are shown in turn."))
    variant = forms.CharField(label=_("Variant"), required=False, max_length=10)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.active_categories()  # type: ignore[attr-defined]
