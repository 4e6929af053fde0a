"""The Django admin site, with the one write Django's own admin leaves unaudited: an administrator changing
their own password (``/admin/password_change/``) writes no LogEntry, so it is recorded here."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse


class KefuAdminConfig(AdminConfig):
    """django.contrib.admin in INSTALLED_APPS, with this site as ``admin.site``."""

    default_site = "kefu.core.admin_site.KefuAdminSite"


class KefuAdminSite(AdminSite):
    def password_change(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from kefu.core.audit import record_audit  # the models are not ready when INSTALLED_APPS loads this module

        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:  # the form was valid and saved
            record_audit("user.password_set", request.user, actor=request.user)
        return response
