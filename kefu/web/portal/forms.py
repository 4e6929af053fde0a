"""Forms of the customer portal: parse and validate input; the services decide what it means."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from kefu.tickets import selectors
from kefu.tickets.models import Category
from kefu.tickets.services import Upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the pattern from Django's file-upload documentation)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single_clean = super().clean
        if isinstance(data, list | tuple):
            return [single_clean(item, initial) for item in data if item]
        return [single_clean(data, initial)] if data else []


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return obj.label()


def to_uploads(files: list[UploadedFile]) -> list[Upload]:
    """Read uploaded files for the services; never more than one byte past the size limit, so an
    oversized file is refused by ``validate_upload`` without being held in memory whole."""
    limit = settings.KEFU["ATTACHMENT_MAX_BYTES"]
    uploads = []
    for uploaded in files:
        uploaded.seek(0)
        uploads.append(Upload(filename=uploaded.name or "file", content=uploaded.read(limit + 1),
                              content_type=uploaded.content_type or ""))
    return uploads


class SubmitForm(forms.Form):
    """A new request from the portal; name and email are asked only of visitors without an account."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Your email address"),
                             help_text=_("We send the ticket number and the tracking link here."))
    phone = forms.CharField(label=_("Phone (optional)"), max_length=32, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200,
                              help_text=_("One line that sums up the problem."))
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none(), required=False,
                                   empty_label=_("Not sure"))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea,
                                  help_text=_("Tell us in your own words what you need."))
    what = forms.CharField(label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           help_text=_("The problem as you see it, e.g. “payment failed”."))
    when = forms.CharField(label=_("When did it happen?"), max_length=200, required=False,
                           help_text=_("Date and time, or “since the last update”."))
    where = forms.CharField(label=_("Where — which product or scene?"), max_length=200, required=False,
                            help_text=_("The product, page, app version or place where you saw it."))
    who = forms.CharField(label=_("Who / how many are affected?"), max_length=200, required=False,
                          help_text=_("Only you, your team, all your customers…"))
    how = forms.CharField(label=_("How — steps or error text"), widget=forms.Textarea(attrs={"rows": 3}),
                          required=False,
                          help_text=_("The steps that lead to the problem, or the exact error message."))
    expected = forms.CharField(label=_("Expected outcome"), widget=forms.Textarea(attrs={"rows": 2}),
                               required=False, help_text=_("What should happen instead, or what you would like "
                                                           "us to do."))
    attachments = MultipleFileField(label=_("Attachments"), required=False,
                                    help_text=_("Screenshots, documents or logs; you can choose several files."))

    FACT_FIELDS = ("what", "when", "where", "who", "how", "expected")

    def __init__(self, *args: Any, anonymous: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.active_categories()  # type: ignore[attr-defined]
        if not anonymous:
            for name in ("name", "email", "phone"):
                del self.fields[name]

    @property
    def facts(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in self.FACT_FIELDS}


class LoginLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"))
