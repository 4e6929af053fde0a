"""The customer's satisfaction survey page, opened from a signed single-use link (placeholder until built)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
