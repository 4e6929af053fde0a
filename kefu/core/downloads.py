"""Serving stored files to people: always as a download, never rendered in our origin."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _

from kefu.core import filetypes
from kefu.core.errors import NotFound

DOWNLOAD_CSP = "default-src 'none'; sandbox"
OCTET_STREAM = "application/octet-stream"
# Types a browser shows without running anything; every other stored type (HTML, SVG, XML, scripts, or
# whatever an older row or a permissive KEFU_ATTACHMENT_TYPES let in) is served as opaque bytes.
INERT_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "application/pdf",
    "text/plain", "text/csv", "text/tab-separated-values", "application/zip", "application/gzip",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "message/rfc822",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})


def served_type(content_type: str) -> str:
    """The Content-Type to serve a stored file with: its own when inert, else application/octet-stream."""
    base = content_type.split(";")[0].strip().lower()
    return base if base in INERT_TYPES else OCTET_STREAM


def download_response(stored: Any, filename: str, content_type: str) -> FileResponse:
    """A FileResponse for an uploaded file, with the original name (RFC 5987 where needed).

    nosniff and a sandboxing CSP keep uploaded HTML or SVG from running even if a browser is talked into
    displaying it, and such types are served as application/octet-stream in the first place. A file
    missing from storage is "not found", like a forbidden one.
    """
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise NotFound(_("File not found.")) from None
    # Always an attachment, never inline; the name is cleaned again for rows stored before names were.
    response = FileResponse(handle, as_attachment=True, filename=filetypes.safe_filename(filename),
                            content_type=served_type(content_type))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    return response
