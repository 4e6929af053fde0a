"""Writes to people: staff accounts, API tokens, one-time sign-in links, preferences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import ApiToken, Department, LoginLink, Role, User
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.ids import digest, new_secret
from kefu.core.prepared import Prepared

TOKEN_PREFIX = "kefu_"  # noqa: S105 (a public marker that lets secret scanners recognise our tokens)


@transaction.atomic
def create_staff_user(
    *, username: str, email: str, display_name: str, role: str, password: str | None,
    departments: Sequence[Department] = (), actor: User | None, language: str = "",
) -> User:
    if role == Role.CUSTOMER or role not in Role.values:
        raise DomainError(_("Choose a staff role."), code="invalid_role")
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators can add staff."))
    user = User(username=username, email=email.strip().lower(), display_name=display_name, role=role,
                language=language, is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.departments.set(departments)
    record_audit("user.created", user, actor=actor, changes={"role": role})
    return user


@transaction.atomic
def issue_api_token(user: User, name: str, *, actor: User) -> tuple[ApiToken, str]:
    """Returns the token and its secret; the secret is not stored and cannot be shown again."""
    if actor.pk != user.pk and actor.role != Role.ADMIN:
        raise PermissionDenied(_("You can only create tokens for yourself."))
    secret = TOKEN_PREFIX + new_secret(30)
    token = ApiToken.objects.create(user=user, name=name.strip()[:100] or _("API token"),
                                    prefix=secret[: len(TOKEN_PREFIX) + 4], key_hash=digest(secret))
    record_audit("api_token.issued", token, actor=actor, changes={"name": token.name})
    return token, secret


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor: User) -> None:
    if actor.pk != token.user_id and actor.role != Role.ADMIN:
        raise PermissionDenied(_("You can only revoke your own tokens."))
    token.revoked_at = now()
    token.save(update_fields=["revoked_at"])
    record_audit("api_token.revoked", token, actor=actor)


_live_token = Prepared(
    lambda key_hash: ApiToken.objects.select_related("user").filter(key_hash=key_hash, revoked_at__isnull=True)[:1],
    [str])


def user_for_api_token(secret: str) -> User | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = _live_token.first(digest(secret))  # on every API request: compiled once (kefu.core.prepared)
    if token is None or not token.user.is_active:
        return None
    moment = now()
    if token.last_used_at is None or moment - token.last_used_at > dt.timedelta(minutes=5):
        # Throttled so that a busy integration does not write on every request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    return token.user


@transaction.atomic
def create_login_link(user: User, *, next_path: str = "") -> str:
    """A one-time sign-in secret for the email link; only its hash is stored."""
    secret = new_secret(32)
    link = LoginLink.objects.create(
        user=user, key_hash=digest(secret), next_path=next_path[:200],
        expires_at=now() + dt.timedelta(minutes=int(settings.KEFU["MAGIC_LINK_MINUTES"])),
    )
    # Asked for by whoever typed the address (nobody signed in): the row names the link, whose user it is.
    record_audit("login_link.issued", link, actor=None)
    return secret


@transaction.atomic
def redeem_login_link(secret: str) -> tuple[User, str]:
    link = LoginLink.objects.select_for_update().select_related("user").filter(key_hash=digest(secret)).first()
    if link is None or link.used_at is not None or link.expires_at < now() or not link.user.is_active:
        raise DomainError(_("This sign-in link is invalid, used or expired. Ask for a new one."),
                          code="invalid_link")
    link.used_at = now()
    link.save(update_fields=["used_at"])
    record_audit("login_link.redeemed", link, actor=link.user)
    return link.user, link.next_path


@transaction.atomic
def set_password(user: User, password: str, *, actor: User) -> User:
    """Set a new password (already checked by the form's validators); audited, never with the password."""
    user.set_password(password)
    user.save(update_fields=["password"])
    record_audit("user.password_set", user, actor=actor)
    return user


@transaction.atomic
def set_preferences(user: User, *, language: str | None = None, time_zone: str | None = None) -> User:
    import zoneinfo

    fields = []
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise DomainError(_("Unknown language."), code="invalid_language")
        user.language = language
        fields.append("language")
    if time_zone is not None:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise DomainError(_("Unknown time zone."), code="invalid_time_zone") from None
        user.time_zone = time_zone
        fields.append("time_zone")
    if fields:
        user.save(update_fields=fields)
        record_audit("user.preferences", user, actor=user, changes={f: getattr(user, f) for f in fields})
    return user
