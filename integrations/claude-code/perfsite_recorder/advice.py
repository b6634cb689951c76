"""Advice in the agent: on ``UserPromptSubmit``, what Perfsite knows about this kind of task.

Only with ``PERFSITE_ADVISE=1`` (and ``PERFSITE_URL``): the prompt is classified here (the
plugin's copy of the server's rules: no prompt text leaves the machine for this), Perfsite is
asked ``GET /api/recommendations?task_type=T&project=P`` (P: the repository or folder of the
session's folder, as the recorder names it), and its advice lines become the turn's
``additionalContext``. Silent whenever anything is missing: no variable, no server, a slow
server (``TIMEOUT``, or ``PERFSITE_ADVISE_TIMEOUT``), thin evidence. Answers are cached per
session and task type in ``<state dir>/advice/<session>.json`` for ``CACHE_FOR`` seconds, so the
next prompt of the same type costs no request; a server that did not answer is left alone for
``delivery.AWAY_FOR``.

The advice given is noted in the same file under the prompt's key, so that the ``Stop`` hook's
task carries it (the task's ``advice`` field): Perfsite can then compare advised turns with the
others (``/compare/?a=advised:yes&b=advised:no``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import time
from pathlib import Path
from typing import Any

from . import __version__
from .delivery import AWAY_FOR, Config, _away_marker, _write_atomic, log, server_away, state_dir

TIMEOUT = 0.8  # seconds for the request: the hook as a whole stays near one second
MAX_TIMEOUT = 2.5  # PERFSITE_ADVISE_TIMEOUT's ceiling, under the hook's 3 s in hooks.json
CACHE_FOR = 3600.0  # seconds an answer (or "nothing to say") is reused within a session
MAX_ADVICE = 1000  # characters kept on the task (the server's limit)
MAX_TURNS = 200  # prompts remembered per session
ADVISE_ENV = "PERFSITE_ADVISE"


def enabled(environ: Any) -> bool:
    return (environ.get(ADVISE_ENV) or "").strip().lower() in {"1", "true", "yes", "on"}


def timeout(environ: Any) -> float:
    """``PERFSITE_ADVISE_TIMEOUT`` seconds (a slow link), else TIMEOUT; at most MAX_TIMEOUT."""
    try:
        value = float(environ.get("PERFSITE_ADVISE_TIMEOUT") or TIMEOUT)
    except ValueError:
        return TIMEOUT
    return min(max(value, 0.05), MAX_TIMEOUT) if value == value else TIMEOUT


def prompt_key(prompt: str | None) -> str:
    """The key a prompt's advice is noted under: the UserPromptSubmit hook and the Stop hook's
    transcript see the same text (surrounding spaces aside)."""
    return hashlib.sha256((prompt or "").strip().encode("utf-8", "replace")).hexdigest()[:32]


def _path(directory: Path, session_id: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in session_id)[:200]
    return directory / "advice" / f"{safe or 'unknown'}.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"types": {}, "turns": {}}
    if not isinstance(data, dict):
        return {"types": {}, "turns": {}}
    data.setdefault("types", {})
    data.setdefault("turns", {})
    return data


def given(directory: Path, session_id: str, prompt: str | None) -> str | None:
    """The advice noted for this prompt of the session, or None (none was given)."""
    turns = _load(_path(directory, session_id)).get("turns")
    value = turns.get(prompt_key(prompt)) if isinstance(turns, dict) else None
    return value[:MAX_ADVICE] if isinstance(value, str) and value else None


def fetch(config: Config, task_type: str, project: str | None, *, timeout: float) -> Any:
    """The recommendations JSON, or None when the server did not answer usefully;
    ``socket.timeout`` propagates (the caller marks the server away)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    query = {"task_type": task_type}
    if project:
        query["project"] = project
    headers = {"Accept": "application/json", "User-Agent": f"perfsite-recorder/{__version__}"}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    request = urllib.request.Request(
        f"{config.url}/api/recommendations?{urllib.parse.urlencode(query)}", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status != 200:
                return None
            return json.loads(response.read(200_000).decode("utf-8"))
    except urllib.error.HTTPError:
        return None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (socket.timeout, TimeoutError)) or isinstance(exc, socket.timeout):
            raise socket.timeout from exc
        return None


def _lines(answer: Any) -> list[str]:
    if not isinstance(answer, dict) or not answer.get("enough_data"):
        return []
    lines = answer.get("advice")
    if not isinstance(lines, list):
        return []
    return [line for line in lines if isinstance(line, str) and line][:12]


def advise(event: dict[str, Any], environ: Any) -> str | None:
    """The additional context for this prompt, or None (say nothing)."""
    if not enabled(environ):
        return None
    config = Config.from_env(environ)
    if config is None:
        return None
    prompt = event.get("prompt")
    session_id = str(event.get("session_id") or "")
    if not isinstance(prompt, str) or not prompt.strip() or not session_id:
        return None
    from .classification import classify_task
    from .tasks import project_and_branch

    task_type = classify_task(prompt)
    cwd = event.get("cwd")
    project = project_and_branch(cwd if isinstance(cwd, str) else None)[0]
    directory = state_dir(environ)
    path = _path(directory, session_id)
    state = _load(path)
    cache_key = f"{task_type}|{project or ''}"
    cached = state["types"].get(cache_key)
    now = time.time()
    if isinstance(cached, dict) and now - float(cached.get("at") or 0) < CACHE_FOR:
        lines = [str(line) for line in cached.get("lines") or []]
    else:
        if server_away(directory):
            return None
        try:
            answer = fetch(config, task_type, project, timeout=timeout(environ))
        except socket.timeout:
            with contextlib.suppress(OSError):
                directory.mkdir(parents=True, exist_ok=True)
                _away_marker(directory).write_text(str(now + AWAY_FOR), encoding="utf-8")
            log(directory, f"advice: {config.url} did not answer in {timeout(environ)}s")
            return None
        if answer is None:
            return None  # not cached: the server may be back next prompt
        lines = _lines(answer)
        state["types"][cache_key] = {"at": now, "lines": lines}
    text = "\n".join(lines)
    if text:
        turns = state["turns"]
        turns[prompt_key(prompt)] = text[:MAX_ADVICE]
        while len(turns) > MAX_TURNS:
            turns.pop(next(iter(turns)))
    with contextlib.suppress(OSError):
        _write_atomic(path, state)
    return text or None


def output(text: str) -> str:
    """The hook's stdout: Claude Code adds ``additionalContext`` to the turn's context."""
    return json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "UserPromptSubmit",
                "additionalContext": text,
            }
        },
        ensure_ascii=False,
    )
