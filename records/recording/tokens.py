"""API tokens for the write API: made once, stored only as a SHA-256 hash, checked in constant time.

A token is ``secrets.token_urlsafe(32)``: 43 characters from ``A-Z a-z 0-9 _ -`` carrying 256 random
bits, so a plain (unsalted) SHA-256 is enough to make the stored hash useless to a thief.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.utils import timezone

from records.models import ApiToken
from records.recording.retry import transient_kind, with_lock_retry

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
PREFIX_LENGTH = 8
MAX_NAME = ApiToken._meta.get_field("name").max_length
MAX_TOKEN_LENGTH = 200  # far above a real token; longer input is refused before it is hashed
LAST_USED_PRECISION = timedelta(minutes=1)  # last_used_at is written at most once a minute
# The last_used_at write waits at most this long for a busy database, then is skipped.
MARK_USED_TIMEOUT = 2.0


class TokenStatus(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Authentication:
    status: TokenStatus
    token: ApiToken | None = None

    @property
    def ok(self) -> bool:
        return self.status is TokenStatus.OK


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_create(*, name: str) -> tuple[ApiToken, str]:
    """Store a new token under ``name``; returns (row, the token). The token is not kept."""
    name = name.strip()
    if not name:
        raise ValueError("The token needs a name, e.g. the host or agent that will use it.")
    if len(name) > MAX_NAME:
        raise ValueError(f"The name must be at most {MAX_NAME} characters.")
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(name=name, key_hash=hash_token(raw), prefix=raw[:PREFIX_LENGTH])
    return token, raw


def token_authenticate(raw: str | None, *, now: datetime | None = None) -> Authentication:
    """Check a presented token: look the row up by hash, then compare the hashes in constant time.

    Marks the token used (``last_used_at``) when that was more than a minute ago, so a busy
    client costs one small write a minute, not one per request.
    """
    if not raw:
        return Authentication(TokenStatus.MISSING)
    if len(raw) > MAX_TOKEN_LENGTH or not raw.isascii():
        return Authentication(TokenStatus.INVALID)
    presented = hash_token(raw)
    token = ApiToken.objects.filter(key_hash=presented).first()
    if token is None or not hmac.compare_digest(token.key_hash, presented):
        return Authentication(TokenStatus.INVALID)
    if token.revoked_at is not None:
        return Authentication(TokenStatus.REVOKED, token)
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        _mark_used(token, now=now)
    return Authentication(TokenStatus.OK, token)


def _mark_used(token: ApiToken, *, now: datetime) -> None:
    """Write ``last_used_at``, unless the database cannot take a write just now.

    Bookkeeping must not fail the request, nor spend its time budget: a busy, full or unreachable
    database skips it after a short wait (the next request writes it), and the task's own write
    then meets the same condition and answers 503 to retry.
    """
    try:
        with_lock_retry(
            lambda: ApiToken.objects.filter(pk=token.pk).update(last_used_at=now),
            timeout=MARK_USED_TIMEOUT,
        )
    except (OperationalError, InterfaceError) as exc:
        if transient_kind(exc) is None:
            raise
        logger.warning("API token %s: last_used_at not written: %s", token.pk, exc)
    else:
        token.last_used_at = now


def tokens_revoke(*, tokens: QuerySet[ApiToken], now: datetime | None = None) -> int:
    """Revoke the active tokens among ``tokens``; returns how many were revoked."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=now or timezone.now())
