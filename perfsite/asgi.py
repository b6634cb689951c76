"""The production entry point: gunicorn's ``asgi`` worker runs this (see the README, `make serve`).

An event loop reads each request's headers and body without holding a thread, so slow clients
cost a socket each, not a worker; Django then runs our sync middleware and views on a thread of
the request's own. ``perfsite.wsgi`` stays for WSGI servers and tools that want one.
"""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perfsite.settings")

# Django's ASGI handler reads a request's whole body (spooling it to a temporary file past
# 2.5 MB) before any view runs, where WSGI let a view refuse a body by its Content-Length
# unread. So the server entry bounds bodies itself: 8 MiB, the most the write API reads of a
# body it refuses (records.recording.api.DRAIN_LIMIT, 8 x its 1 MiB limit) and far more than any
# form here posts. Without it, anyone could fill the disk with one upload to any URL.
MAX_BODY_BYTES = 8 * 1024 * 1024

# whitenoise (sync middleware) answers static files with a FileResponse over a file: Django reads
# it chunk by chunk on the request's thread, correct but not async, and warns once per worker.
warnings.filterwarnings(
    "ignore",
    message="StreamingHttpResponse must consume synchronous iterators",
    category=Warning,
    module="django.core.handlers.asgi",
)


class BodyLimit:
    """ASGI middleware: answer 413 to a request whose body exceeds ``max_bytes``, declared by
    Content-Length (nothing of it is read) or found while reading a chunked one (Django is told
    the client left, and stops)."""

    def __init__(self, app, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        received = 0
        too_large = False
        started = False

        async def bounded_receive():
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}  # Django drops the request unanswered
            return message

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, bounded_receive, tracked_send)
        if too_large and not started:
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = f"Request body larger than {self.max_bytes} bytes.\n".encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


application = BodyLimit(get_asgi_application(), max_bytes=MAX_BODY_BYTES)
