"""The console's reply templates (话术: agents read them, supervisors keep them) and the A/B report of their
experiments (supervisors and administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kefu.assist import selectors, services
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.web.console.forms import ReplyTemplateForm
from kefu.web.console.views import StaffRequest, staff_required


@require_GET
@staff_required
def experiments(request: StaffRequest) -> HttpResponse:
    try:
        reports = selectors.experiment_reports(request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    return render(request, "web/console/experiments.html", {"reports": reports})


@require_GET
@staff_required
def template_list(request: StaffRequest) -> HttpResponse:
    return render(request, "web/console/reply_templates.html", {
        "templates": list(selectors.reply_templates(request.user)),
        "can_edit": request.user.role in {"supervisor", "admin"},
    })


@require_http_methods(["GET", "POST"])
@staff_required
def template_new(request: StaffRequest) -> HttpResponse:
    if request.user.role not in {"supervisor", "admin"}:
        raise DjangoPermissionDenied(_("Only supervisors and administrators edit reply templates."))
    form = ReplyTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_reply_template(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
            return redirect("web:console_templates")
    return render(request, "web/console/reply_template_edit.html", {"form": form, "template": None},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@staff_required
def template_edit(request: StaffRequest, template_id: int) -> HttpResponse:
    try:
        template = selectors.get_reply_template_for_editing(request.user, template_id)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except NotFound:
        raise Http404 from None
    initial = {name: getattr(template, name) for name in services.EDITABLE_FIELDS}
    form = ReplyTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_reply_template(template, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Template “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
            return redirect("web:console_templates")
    return render(request, "web/console/reply_template_edit.html", {"form": form, "template": template},
                  status=400 if form.errors else 200)

