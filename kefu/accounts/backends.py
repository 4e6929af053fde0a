from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from kefu.accounts.models import User


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with the username or the email address."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not username or password is None:
            return None
        login = username.strip()
        user = (
            User.objects.filter(email=login.lower()).first()  # stored lower-cased; the index answers
            if "@" in login
            else User.objects.filter(username=login).first()
        )
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle for accounts
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
