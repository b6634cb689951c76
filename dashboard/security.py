"""Security headers Django's SecurityMiddleware does not send: CSP and Permissions-Policy.

Every response gets them (pages, fragments, JSON, static files served by whitenoise after this
middleware, and the admin). Perfsite's pages and Django 5.2's admin use no inline script or style,
so one strict policy from ``settings.CONTENT_SECURITY_POLICY`` covers everything; a view that set
its own policy keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
