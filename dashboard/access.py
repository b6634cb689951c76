"""Who may read: everyone, or (PERFSITE_REQUIRE_LOGIN=1) signed-in users only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

LOGIN_REQUIRED_MESSAGE = "Sign in to read Perfsite (PERFSITE_REQUIRE_LOGIN is on)."


def reader(*, json: bool = False) -> Callable:
    """Let the request through unless PERFSITE_REQUIRE_LOGIN is on and nobody is signed in.

    Pages redirect to the login page; JSON views answer 401 with an error naming the problem.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if settings.PERFSITE_REQUIRE_LOGIN and not request.user.is_authenticated:
                if json:
                    return JsonResponse({"errors": {"auth": [LOGIN_REQUIRED_MESSAGE]}}, status=401)
                return redirect_to_login(request.get_full_path())
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
