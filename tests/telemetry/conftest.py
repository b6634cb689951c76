from __future__ import annotations

import gzip

import pytest

from records.recording.tokens import token_create
from tests.integrations.conftest import claude_home  # noqa: F401 (a HOME with the plugin)


@pytest.fixture
def token(db) -> str:
    return token_create(name="otel-laptop")[1]


@pytest.fixture
def post(client, token):
    """POST a body to /v1/<signal> as an OTLP exporter does."""

    def send(
        signal, body, *, content_type="application/x-protobuf", gzipped=False, auth=None, **headers
    ):
        if gzipped:
            body = gzip.compress(body)
            headers["HTTP_CONTENT_ENCODING"] = "gzip"
        if auth is None:
            auth = f"Bearer {token}"
        if auth:
            headers["HTTP_AUTHORIZATION"] = auth
        return client.generic("POST", f"/v1/{signal}", body, content_type=content_type, **headers)

    return send
