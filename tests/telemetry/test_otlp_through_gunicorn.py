"""The receivers behind the production server (gunicorn's asgi worker, DEBUG off), on SQLite and
PostgreSQL: real sockets, real exporter, hostile bodies, nothing stored half-way."""

from __future__ import annotations

import gzip
import http.client
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.support import live
from tests.telemetry.agent import run_agent
from tests.telemetry.bodies import Turn, kvs, logs_request

pytestmark = pytest.mark.slow


@dataclass
class Site:
    env: dict[str, str]
    url: str
    token: str


@pytest.fixture(scope="module", params=live.BACKENDS)
def site(request, tmp_path_factory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp(f"otlp-{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(live.backend_env(request.param, directory, suffix="otlp"))
        env = live.production_env(env, static_root=directory / "static")
        live.manage(env, "migrate", "--no-input")
        live.manage(env, "collectstatic", "--no-input")
        token = live.create_token(env, "otel")
        url = stack.enter_context(live.gunicorn(env, workers=2, log=directory / "gunicorn.log"))
        yield Site(env=env, url=url, token=token)


def stored(site: Site) -> dict[str, str]:
    return live.stored_records(site.env)


def send(site: Site, body: bytes, *, headers: dict[str, str] | None = None, chunked=False):
    parts = urlsplit(site.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    all_headers = {
        "Content-Type": "application/x-protobuf",
        "Authorization": f"Bearer {site.token}",
        **(headers or {}),
    }
    try:
        if chunked:
            conn.putrequest("POST", "/v1/logs")
            for name, value in (all_headers | {"Transfer-Encoding": "chunked"}).items():
                conn.putheader(name, value)
            conn.endheaders()
            try:
                for start in range(0, len(body), 1 << 20):
                    piece = body[start : start + (1 << 20)]
                    conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before the rest was sent
        else:
            with suppress(BrokenPipeError, ConnectionResetError):  # answered before all was sent
                conn.request("POST", "/v1/logs", body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_claude_code_batches_over_real_sockets(site):
    turn = Turn("p-live")
    body = logs_request([turn.prompt(0, text="Fix the build"), turn.api_request(1)])
    status, answer = send(
        site, gzip.compress(body.SerializeToString()), headers={"Content-Encoding": "gzip"}
    )
    assert (status, answer) == (200, b"")
    assert f"cc-{turn.session}-p-live" in stored(site)


def test_a_50_mb_body_is_refused_unread_and_chunked_too(site):
    before = stored(site)
    started = time.monotonic()
    status, _ = send(site, b"\x00" * (50 * 1024 * 1024))
    assert status == 413
    status, _ = send(site, b"\x00" * (50 * 1024 * 1024), chunked=True)
    assert status == 413
    assert time.monotonic() - started < 60
    assert stored(site) == before


def test_hostile_bodies_are_4xx_never_5xx(site):
    before = stored(site)
    turn = Turn("p-hostile-live")
    good = logs_request(
        [turn.prompt(0, text="MARKER-TEXT"), turn.api_request(1)]
    ).SerializeToString()
    many = logs_request([turn.prompt(0)])
    many.resource_logs[0].scope_logs[0].log_records[0].attributes.extend(
        kvs({f"k{i}": "v" for i in range(100_000)})
    )
    cases = {
        "truncated": (good[:-5], {}, 400),
        "wrong type": (good, {"Content-Type": "text/plain"}, 415),
        "invalid utf-8": (good.replace(b"MARKER-TEXT", b"MARKER\xff\xfeXT"), {}, 400),
        "10^5 attributes": (many.SerializeToString(), {}, 400),
        "broken json": (b'{"resourceLogs": [', {"Content-Type": "application/json"}, 400),
        "no token": (good, {"Authorization": ""}, 401),
    }
    for name, (body, headers, expected) in cases.items():
        status, answer = send(site, body, headers=headers)
        assert status == expected, (name, status, answer[:300])
    assert stored(site) == before


def test_the_real_sdk_exporter(site):
    exporter = OTLPSpanExporter(
        endpoint=f"{site.url}/v1/traces", headers={"Authorization": f"Bearer {site.token}"}
    )
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    run_agent(provider.get_tracer("scripted-agent"), conversation="conv-live")
    assert provider.force_flush(30_000)
    provider.shutdown()
    code = (
        "import json; from records.models import TaskRecord; "
        "r = TaskRecord.objects.get(session_id='conv-live'); "
        "agents = list(r.agents.values_list('name', flat=True)); "
        "print(json.dumps([r.issues, agents, r.output_tokens]))"
    )
    out = live.manage(site.env, "shell", "-c", code).strip().splitlines()[-1]
    assert json.loads(out) == [["reviewer: run_tests: 2 tests failed"], ["reviewer"], 400]
