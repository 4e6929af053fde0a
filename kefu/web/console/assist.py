"""The console's A/B report of reply-template experiments (supervisors and administrators)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kefu.assist import selectors
from kefu.core.errors import PermissionDenied
from kefu.web.console.views import StaffRequest, staff_required


@require_GET
@staff_required
def experiments(request: StaffRequest) -> HttpResponse:
    try:
        reports = selectors.experiment_reports(request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    return render(request, "web/console/experiments.html", {"reports": reports})
