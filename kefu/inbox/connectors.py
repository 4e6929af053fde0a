"""Sending on messaging channels: one small HTTP client per kind of ChannelEndpoint.

- webhook (any app): POST {"id", "to", "text", "ticket"} to the endpoint's outbound URL, signed like
  inbound hooks: X-Kefu-Timestamp and X-Kefu-Signature = "sha256=" + HMAC-SHA256(secret, "<ts>.<body>").
- sms (a generic gateway): POST {"to", "text", "reference"} with "Authorization: Bearer <API key>";
  any 2xx is accepted, the gateway's {"message_id"} is not needed.
- wechat (Official Account): an access token from /cgi-bin/token (cached until shortly before it
  expires), then /cgi-bin/message/custom/send with a text message; WeChat answers errcode 0 on success.

Every sender raises ConnectorError on failure; the notification outbox retries with back-off and the
same `reference`, so a gateway that deduplicates sees one message.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kefu.inbox.models import ChannelEndpoint
from kefu.notifications.services import signature as webhook_signature

TIMEOUT_S = 10
WECHAT_API = "https://api.weixin.qq.com"
MAX_TEXT = 2000  # WeChat's customer-service text limit, in characters; SMS gateways split long texts


class ConnectorError(Exception):
    pass


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Kefu-Signature of a channel's message sent at `timestamp` (inbound and outbound alike): the
    ticket-event webhooks' HMAC, over "<timestamp>.<body>" so that a captured request cannot be replayed."""
    return webhook_signature(secret, timestamp.encode() + b"." + body)


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> urllib.request.Request:
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise ConnectorError(f"not an http(s) URL: {url!r}")
    return urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",  # noqa: S310
                                  headers=headers or {})


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return _open(_request(url, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}))


def _open(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (scheme checked in _request)
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise ConnectorError(f"HTTP {exc.code} from {request.full_url.split('?')[0]}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectorError(f"{type(exc).__name__}: {exc}") from exc
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def send_webhook(endpoint: ChannelEndpoint, to: str, text: str, *, reference: str, ticket: int | None) -> None:
    payload = {"id": reference, "to": to, "text": text, "ticket": ticket}
    body = json.dumps(payload, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    _open(_request(endpoint.outbound_url, body, {
        "Content-Type": "application/json; charset=utf-8", "X-Kefu-Timestamp": timestamp,
        "X-Kefu-Signature": signature(endpoint.secret, timestamp, body)}))


def send_sms(endpoint: ChannelEndpoint, to: str, text: str, *, reference: str) -> None:
    _post_json(endpoint.outbound_url, {"to": to, "text": text, "reference": reference},
               {"Authorization": f"Bearer {endpoint.outbound_token}"})


_tokens: dict[int, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _wechat_base(endpoint: ChannelEndpoint) -> str:
    return (endpoint.outbound_url or WECHAT_API).rstrip("/")


def wechat_access_token(endpoint: ChannelEndpoint) -> str:
    with _tokens_lock:
        cached = _tokens.get(endpoint.pk)
        if cached and cached[1] > time.monotonic():
            return cached[0]
    query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": endpoint.app_id,
                                    "secret": endpoint.outbound_token})
    answer = _open(_request(f"{_wechat_base(endpoint)}/cgi-bin/token?{query}"))
    token = answer.get("access_token")
    if not token:
        raise ConnectorError(f"WeChat token: errcode {answer.get('errcode')} {answer.get('errmsg', '')}")
    lifetime = float(answer.get("expires_in", 7200))
    with _tokens_lock:
        _tokens[endpoint.pk] = (str(token), time.monotonic() + max(60.0, lifetime - 300))
    return str(token)


def send_wechat(endpoint: ChannelEndpoint, openid: str, text: str) -> None:
    """A customer-service text message (allowed within 48 h of the customer's last message)."""
    token = wechat_access_token(endpoint)
    answer = _post_json(f"{_wechat_base(endpoint)}/cgi-bin/message/custom/send?access_token={token}",
                        {"touser": openid, "msgtype": "text", "text": {"content": text[:MAX_TEXT]}})
    if answer.get("errcode", 0) != 0:
        if answer.get("errcode") in {40001, 40014, 42001}:  # token invalid or expired: fetch anew next time
            with _tokens_lock:
                _tokens.pop(endpoint.pk, None)
        raise ConnectorError(f"WeChat send: errcode {answer.get('errcode')} {answer.get('errmsg', '')}")
