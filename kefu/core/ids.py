"""Identifiers that leave the system: tracking tokens, one-time codes."""

from __future__ import annotations

import hashlib
import secrets


def new_tracking_token() -> str:
    """192 random bits, URL-safe: the bearer secret of a ticket's tracking link."""
    return secrets.token_urlsafe(24)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """What we store of a secret (API tokens, one-time links): its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()
