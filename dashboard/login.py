"""A throttle on both sign-in pages (``/accounts/login/`` and ``/admin/login/``).

After MAX_FAILURES wrong passwords for one username from one client address within WINDOW, that
pair is refused without checking the password until the oldest of those failures is WINDOW old:
the form says "too many failed sign-ins, try again in N minutes" with HTTP 429 and Retry-After.
The answer is the same whether or not the user exists, and a right password does not get through
either meanwhile, so the lock tells an attacker nothing. Failures are rows in the database
(``records.LoginFailure``, keyed by a hash of username and address, pruned as they expire), so
every gunicorn worker sees them. A successful sign-in clears its pair.

The address is REMOTE_ADDR: behind a reverse proxy every client shares the proxy's address, and
the throttle then works per username (an attacker can still lock a username for WINDOW at most).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from records.models import LoginFailure

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
CODE_THROTTLED = "throttled"


def throttle_key(*, username: str, address: str) -> str:
    """The stored key of a (username, client address) pair: a hash, so the table holds neither."""
    return hashlib.sha256(f"{username.strip().casefold()}\x00{address}".encode()).hexdigest()


def client_address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


def login_wait(*, key: str, now: datetime) -> timedelta | None:
    """How long this pair must wait before its next attempt, or None if it may try now."""
    recent = list(
        LoginFailure.objects.filter(key=key, failed_at__gt=now - WINDOW)
        .order_by("-failed_at")
        .values_list("failed_at", flat=True)[:MAX_FAILURES]
    )
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-1] + WINDOW - now  # when the oldest of the last MAX_FAILURES leaves the window


def login_failure_record(*, key: str, now: datetime) -> None:
    """Count a failed sign-in, and forget every failure that no longer counts (any pair)."""
    LoginFailure.objects.filter(failed_at__lte=now - WINDOW).delete()
    LoginFailure.objects.create(key=key, failed_at=now)


def login_failures_clear(*, key: str) -> None:
    LoginFailure.objects.filter(key=key).delete()


def minutes(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds() / 60))


def throttled_message(wait: timedelta) -> str:
    n = minutes(wait)
    return (
        "Too many failed sign-ins for this username from your address. "
        f"Try again in {n} minute{'s' if n != 1 else ''}."
    )


class ThrottledLoginMixin:
    """For AuthenticationForm subclasses: refuse a locked pair before the password is checked,
    count a failed password, clear the pair on success. ``throttled`` is the wait, if refused."""

    throttled: timedelta | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # no attempt is made: a field is missing
        key = throttle_key(username=username, address=client_address(self.request))
        now = timezone.now()
        wait = login_wait(key=key, now=now)
        if wait is not None:
            self.throttled = wait
            raise ValidationError(throttled_message(wait), code=CODE_THROTTLED)
        try:
            cleaned = super().clean()
        except ValidationError:
            if self.user_cache is None:  # the password was wrong (or no such user): count it
                login_failure_record(key=key, now=now)
            raise  # a right password of a user who may not sign in here is not a guess
        login_failures_clear(key=key)
        return cleaned


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


def throttled_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a login view whose form is a ThrottledLoginMixin: a refused attempt answers 429 with
    Retry-After (the page itself, with the form's error, is unchanged)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        wait = getattr(form, "throttled", None)
        if wait is not None:
            response.status_code = 429
            response["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response

    return wrapper
