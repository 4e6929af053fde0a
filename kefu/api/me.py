"""The caller's own account: who am I, and personal API tokens."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status as HttpStatus

from kefu.accounts.models import ApiToken, Role, User
from kefu.accounts.services import issue_api_token, revoke_api_token
from kefu.api.auth import CUSTOMER_ACCESS
from kefu.core.errors import NotFound
from kefu.core.schemas import Out

router = Router(tags=["me"])


class MeOut(Out):
    id: int
    username: str
    name: str
    email: str
    role: Role
    is_staff_member: bool
    language: str
    time_zone: str


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="Shown once; only its hash is kept.")


class TokenIn(Schema):
    name: str = Field("", max_length=100)


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(id=token.pk, name=token.name, prefix=token.prefix, created_at=token.created_at,
                    last_used_at=token.last_used_at)


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


@router.get("/me", response=MeOut, summary="The signed-in user", openapi_extra=CUSTOMER_ACCESS)
def me(request: HttpRequest) -> MeOut:
    user = _actor(request)
    return MeOut(id=user.pk, username=user.username, name=user.name, email=user.email, role=Role(user.role),
                 is_staff_member=user.is_staff_member, language=user.language, time_zone=user.time_zone)


@router.get("/me/tokens", response=list[TokenOut], summary="My API tokens that still work")
def list_tokens(request: HttpRequest) -> list[TokenOut]:
    tokens = _actor(request).api_tokens.filter(revoked_at__isnull=True).order_by("-id")
    return [_token_out(t) for t in tokens]


@router.post("/me/tokens", response={201: TokenCreatedOut}, summary="Issue an API token (secret shown once)")
def create_token(request: HttpRequest, payload: TokenIn) -> HttpStatus[TokenCreatedOut]:
    user = _actor(request)
    token, secret = issue_api_token(user, payload.name, actor=user)
    return HttpStatus(201, TokenCreatedOut(**_token_out(token).model_dump(), secret=secret))


@router.delete("/me/tokens/{token_id}", response={204: None}, summary="Revoke one of my API tokens")
def revoke_token(request: HttpRequest, token_id: int) -> HttpStatus[None]:
    user = _actor(request)
    token = user.api_tokens.filter(pk=token_id, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(_("Token not found."))
    revoke_api_token(token, actor=user)
    return HttpStatus(204, None)
