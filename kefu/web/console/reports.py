"""The console's weekly and monthly reports: the list (with the reader's subscriptions and, for supervisors and
administrators, "generate now"), one report's figures as tables, and its CSV and XLSX downloads. Supervisors,
administrators and QA reviewers read them; agents have their own page elsewhere and get 403 here."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.analytics import reports
from kefu.analytics.models import Report
from kefu.core.downloads import DOWNLOAD_CSP
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.web.console.views import StaffRequest, staff_required

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class KindForm(forms.Form):
    kind = forms.ChoiceField(choices=Report.Kind.choices)


class SubscriptionForm(KindForm):
    subscribed = forms.BooleanField(required=False)


def _report(request: StaffRequest, report_id: int) -> Report:
    try:
        return reports.get_report_for(request.user, report_id)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
@staff_required
def report_list(request: StaffRequest) -> HttpResponse:
    try:
        listed = list(reports.readable_reports(request.user))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    can_generate = request.user.role in reports.GENERATES
    form = KindForm(request.POST or None)
    if request.method == "POST":
        if not can_generate:
            raise DjangoPermissionDenied(_("Only supervisors and administrators generate reports."))
        if form.is_valid():
            try:
                report = reports.generate_latest(form.cleaned_data["kind"], actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("web:console_reports")
            messages.success(request, _("%(title)s generated.") % {"title": reports.title(report)})
            return redirect("web:console_report", report_id=report.pk)
    subscribed = reports.subscribed_kinds(request.user)
    return render(request, "web/console/analytics/report_list.html", {
        "reports": listed, "form": form, "can_generate": can_generate,
        "kinds": [{"value": value, "label": label, "subscribed": value in subscribed}
                  for value, label in Report.Kind.choices],
    }, status=400 if form.errors else 200)


@require_POST
@staff_required
def report_subscribe(request: StaffRequest) -> HttpResponse:
    try:
        reports.require_reader(request.user)  # before the form: a refused role learns nothing from its errors
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose weekly or monthly."), status=400, content_type="text/plain; charset=utf-8")
    subscribed = form.cleaned_data["subscribed"]
    reports.set_subscription(form.cleaned_data["kind"], subscribed, actor=request.user)
    messages.success(request, _("You will receive these reports by email.") if subscribed
                     else _("You will no longer receive these reports by email."))
    return redirect("web:console_reports")


@require_GET
@staff_required
def report_detail(request: StaffRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    return render(request, "web/console/analytics/report_detail.html", {
        "report": report, "title": reports.title(report), "kpis": [str(field.label) for field in reports.KPIS],
        "totals": reports.totals_rows(report), "tables": reports.breakdown_tables(report),
    })


@require_GET
@staff_required
def report_download(request: StaffRequest, report_id: int, fmt: str) -> HttpResponse:
    if fmt not in CONTENT_TYPES:
        raise Http404
    report = _report(request, report_id)
    body = reports.to_csv(report) if fmt == "csv" else reports.to_xlsx(report)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    # The name is built from the report's kind and date only (ASCII, no quotes), so it needs no escaping.
    response["Content-Disposition"] = f'attachment; filename="{reports.filename(report, fmt)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    return response


urlpatterns: list[URLPattern] = [
    path("console/reports/", report_list, name="console_reports"),
    path("console/reports/subscribe/", report_subscribe, name="console_report_subscribe"),
    path("console/reports/<int:report_id>/", report_detail, name="console_report"),
    path("console/reports/<int:report_id>/<str:fmt>/", report_download, name="console_report_download"),
]
