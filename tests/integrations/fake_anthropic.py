"""A scripted stand-in for the Anthropic Messages API, on loopback, for the real Claude Code CLI.

The CLI talks to ``ANTHROPIC_BASE_URL``; this server answers ``POST /v1/messages`` with the
streaming (SSE) shape the real API uses: ``message_start``, ``content_block_start`` /
``content_block_delta`` / ``content_block_stop`` per text or ``tool_use`` block, ``message_delta``
with the stop reason and usage, ``message_stop``.

What to answer comes from a *script*: for each prompt (matched by a marker string contained in
the conversation's current user prompt, or in a sub-agent's task prompt) a list of steps, one per
model call of that turn. The step to play is the number of assistant messages already in the
request after that prompt, so a turn "Write a file, then say done" is
``[[tool_use("Write", {...})], [text("done")]]``. Requests without tools (the CLI's own side
calls: titles, summaries) and anything unscripted get a short text answer, so the CLI never
hangs; every request is logged for the test to inspect.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Usage reported for every scripted model call, so tests can check the sums exactly.
USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "cache_read_input_tokens": 50,
    "cache_creation_input_tokens": 10,
}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": tool_input}


def api_error(status: int = 400, message: str = "scripted failure") -> dict[str, Any]:
    """A step that answers with an HTTP error instead of a message."""
    return {"type": "http_error", "status": status, "message": message}


@dataclass
class Script:
    """``turns`` maps a marker (text in the prompt) to the steps of that turn."""

    turns: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)


@dataclass
class FakeAnthropic:
    url: str
    script: Script
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def scripted_calls(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r.get("marker")]


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _is_prompt(message: dict[str, Any]) -> bool:
    """A user message that carries text and no tool results: a prompt (or a sub-agent task)."""
    if message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    return isinstance(content, list) and not any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def plan(script: Script, body: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]] | None]:
    """(marker, blocks) for a request: the scripted step it asks for, or (None, None)."""
    if not body.get("tools"):
        return None, None
    messages = body.get("messages") or []
    prompt_at = next((i for i in range(len(messages) - 1, -1, -1) if _is_prompt(messages[i])), None)
    if prompt_at is None:
        return None, None
    prompt = _block_text(messages[prompt_at].get("content"))
    for marker, steps in script.turns.items():
        if marker in prompt:
            step = sum(1 for m in messages[prompt_at + 1 :] if m.get("role") == "assistant")
            if step < len(steps):
                return marker, steps[step]
            return marker, [text("(script finished)")]
    return None, None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test logs requests
        pass

    def _reply_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._log({})
        if self.path.startswith("/v1/models"):
            self._reply_json(200, {"data": [], "has_more": False})
        else:
            self._reply_json(404, {"type": "error", "error": {"type": "not_found_error"}})

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        path = self.path.split("?", 1)[0]
        if path.endswith("/v1/messages/count_tokens"):
            self._log(body)
            self._reply_json(200, {"input_tokens": 1000})
            return
        if not path.endswith("/v1/messages"):
            self._log(body)
            self._reply_json(404, {"type": "error", "error": {"type": "not_found_error"}})
            return
        marker, blocks = plan(self.server.fake.script, body)
        self._log(body, marker=marker)
        if blocks is None:
            blocks = [text("ok")]
        errors = [b for b in blocks if b["type"] == "http_error"]
        if errors:
            error = errors[0]
            self._reply_json(
                error["status"],
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": error["message"]},
                },
            )
            return
        model = body.get("model") or "claude-sonnet-4-5-20250929"
        if body.get("stream"):
            self._stream(model, blocks)
        else:
            self._reply_json(200, self._message(model, blocks))

    def _log(self, body: dict[str, Any], *, marker: str | None = None) -> None:
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "model": body.get("model"),
                    "tools": len(body.get("tools") or []),
                    "marker": marker,
                    "body": body,  # what the CLI sent: tests look for context it added
                }
            )

    def _numbered(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for block in blocks:
            if block["type"] == "tool_use":
                block = {**block, "id": f"toolu_{self.server.next_id()}"}
            out.append(block)
        return out

    def _message(self, model: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        blocks = self._numbered(blocks)
        uses_tool = any(b["type"] == "tool_use" for b in blocks)
        return {
            "id": f"msg_{self.server.next_id()}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": "tool_use" if uses_tool else "end_turn",
            "stop_sequence": None,
            "usage": USAGE,
        }

    def _stream(self, model: str, blocks: list[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for event, data in _events(self._message(model, blocks)):
            self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def _events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    start = {**message, "content": [], "stop_reason": None, "usage": {**USAGE, "output_tokens": 1}}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            empty = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            empty = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": empty,
            },
        )
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": USAGE["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake_factory: Any) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._counter = 0
        self._counter_lock = threading.Lock()
        self.fake: FakeAnthropic = fake_factory(self)

    def next_id(self) -> str:
        with self._counter_lock:
            self._counter += 1
            return f"{self._counter:06d}"


@contextmanager
def fake_anthropic(script: Script | None = None) -> Iterator[FakeAnthropic]:
    """Serve the fake API on a free loopback port for the duration of the block."""
    script = script or Script()
    server = _Server(
        lambda s: FakeAnthropic(url=f"http://127.0.0.1:{s.server_address[1]}", script=script)
    )
    thread = threading.Thread(target=server.serve_forever, name="fake-anthropic", daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
