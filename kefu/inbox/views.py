"""Inbound hooks of messaging channels: /hooks/<slug>/. Authenticated by the channel's signature, not by
a session (so no CSRF token and no login); every write goes through kefu.inbox.services."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from xml.etree import ElementTree

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kefu.core.errors import DomainError
from kefu.inbox import connectors, services
from kefu.inbox.models import ChannelEndpoint

SIGNATURE_MAX_AGE_S = 300


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def channel_hook(request: HttpRequest, slug: str) -> HttpResponse:
    endpoint = ChannelEndpoint.objects.filter(slug=slug, active=True).first()
    if endpoint is None:
        return _error(404, "not_found", _("Not found."))
    if endpoint.kind == ChannelEndpoint.Kind.WECHAT:
        return _wechat(request, endpoint)
    if request.method != "POST":
        return _error(405, "method_not_allowed", _("Send messages with POST."))
    if not _signed(request, endpoint.secret):
        return _error(401, "bad_signature", _("The signature is missing, wrong or too old."))
    if endpoint.kind == ChannelEndpoint.Kind.CTI:
        return _call_event(request, endpoint)
    try:
        payload = json.loads(request.body)
        message = services.ChannelMessage(
            external_id=str(payload["id"]), sender=str(payload["from"]), text=str(payload.get("text", "")),
            sender_name=str(payload.get("name", "")), payload=payload)
    except (ValueError, KeyError, TypeError):
        return _error(400, "invalid_payload", _('Expected JSON with "id", "from" and "text".'))
    if not message.external_id or not message.sender:
        return _error(400, "invalid_payload", _('Expected JSON with "id", "from" and "text".'))
    outcome, ticket = services.receive_channel_message(endpoint, message)
    return JsonResponse({"outcome": outcome, "ticket": ticket})


def _call_event(request: HttpRequest, endpoint: ChannelEndpoint) -> JsonResponse:
    try:
        payload = json.loads(request.body)
        duration = payload.get("duration")
        call = services.CallEvent(
            call_id=str(payload["id"]), phase=str(payload["event"]), caller=str(payload["caller"]).strip(),
            agent=str(payload.get("agent") or ""), duration_s=int(duration) if duration is not None else None,
            recording_url=str(payload.get("recording_url") or ""))
    except (ValueError, KeyError, TypeError):
        return _error(400, "invalid_payload", _('Expected JSON with "id", "event" and "caller".'))
    if not call.call_id or not call.caller:
        return _error(400, "invalid_payload", _('Expected JSON with "id", "event" and "caller".'))
    try:
        outcome, ticket = services.receive_call_event(endpoint, call)
    except DomainError as exc:
        return _error(400, exc.code, exc.message)
    return JsonResponse({"outcome": outcome, "ticket": ticket})


def _signed(request: HttpRequest, secret: str) -> bool:
    timestamp = request.headers.get("X-Kefu-Timestamp", "")
    given = request.headers.get("X-Kefu-Signature", "")
    try:
        fresh = abs(time.time() - int(timestamp)) <= SIGNATURE_MAX_AGE_S
    except ValueError:
        return False
    return fresh and hmac.compare_digest(given, connectors.signature(secret, timestamp, request.body))


# ---------------------------------------------------------------------------------------------- WeChat


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's server signature: SHA-1 of the token, timestamp and nonce, sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 (WeChat's scheme)


def _wechat(request: HttpRequest, endpoint: ChannelEndpoint) -> HttpResponse:
    query = request.GET
    expected = wechat_signature(endpoint.secret, query.get("timestamp", ""), query.get("nonce", ""))
    if not hmac.compare_digest(expected, query.get("signature", "")):
        return HttpResponse("bad signature", status=401, content_type="text/plain")
    if request.method == "GET":  # the server URL check when the account is set up
        return HttpResponse(query.get("echostr", ""), content_type="text/plain")
    fields = _wechat_fields(request.body)
    if fields is None:
        return HttpResponse("bad message", status=400, content_type="text/plain")
    message = _wechat_message(fields)
    if message is not None:
        services.receive_channel_message(endpoint, message)
    return HttpResponse("success", content_type="text/plain")  # WeChat's "received, no reply here"


def _wechat_fields(body: bytes) -> dict[str, str] | None:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:  # no entity expansion from the network
        return None
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (entities refused above)
    except ElementTree.ParseError:
        return None
    return {child.tag: (child.text or "").strip() for child in root}


def _wechat_message(fields: dict[str, str]) -> services.ChannelMessage | None:
    """Text and image messages become customer messages; events (subscribe, menu clicks) do not."""
    kind, openid = fields.get("MsgType", ""), fields.get("FromUserName", "")
    if not openid:
        return None
    external_id = fields.get("MsgId") or f"{openid}:{fields.get('CreateTime', '')}:{fields.get('Event', '')}"
    payload: dict[str, Any] = dict(fields)
    if kind == "text":
        text = fields.get("Content", "")
    elif kind == "image":
        text = _("[Image] %(url)s") % {"url": fields.get("PicUrl", "")}
    elif kind == "voice" and fields.get("Recognition"):
        text = fields["Recognition"]
    else:
        return None
    return services.ChannelMessage(external_id=external_id, sender=openid, text=text, payload=payload)
