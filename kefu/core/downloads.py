"""Serving stored files to people: always as a download, never rendered in our origin."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _

from kefu.core.errors import NotFound

DOWNLOAD_CSP = "default-src 'none'; sandbox"


def download_response(stored: Any, filename: str, content_type: str) -> FileResponse:
    """A FileResponse for an uploaded file, with the original name (RFC 5987 where needed).

    nosniff and a sandboxing CSP keep uploaded HTML or SVG from running even if a browser is talked into
    displaying it. A file missing from storage is "not found", like a forbidden one.
    """
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise NotFound(_("File not found.")) from None
    response = FileResponse(handle, as_attachment=True, filename=filename,
                            content_type=content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    return response
