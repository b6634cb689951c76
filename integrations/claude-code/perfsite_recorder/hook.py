"""The hook Claude Code runs on ``Stop`` (a turn ended) and ``SessionEnd``.

It reads the hook's JSON on stdin (``session_id``, ``transcript_path``, ``hook_event_name``,
``background_tasks``, …), turns every finished turn of the transcript it has not handed over yet
into a task, spools it, and sends the spool to ``PERFSITE_URL`` within a fixed time budget.
Whatever happens it prints nothing and exits 0: problems go to ``hook.log`` in the state
directory, never to the agent.

A turn that started a background sub-agent is finished only when the agent has reported back
(the transcript's ``<task-notification>``): until then it waits, so the agent's files and tokens
count toward it. ``SessionEnd`` hands over whatever is left.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from .advice import given
from .delivery import (
    Config,
    SessionState,
    drain,
    forget_old_sessions,
    locked,
    log,
    spool,
    state_dir,
)
from .tasks import build_task, record_id, send_prompts_enabled
from .transcript import read_turns

BUDGET = 1.5  # seconds from start to exit, whatever the server does
MAX_INPUT = 1_000_000  # bytes of hook input read: it is a small JSON object
FLUSH_EVENTS = frozenset({"SessionEnd"})


def _running_subagents(event: dict[str, Any]) -> bool:
    tasks = event.get("background_tasks")
    return isinstance(tasks, list) and any(
        isinstance(task, dict)
        and task.get("type") == "subagent"
        and task.get("status") in {"running", "pending"}
        for task in tasks
    )


def collect(event: dict[str, Any], directory: Path, *, send_prompts: bool) -> int:
    """Spool every finished turn not handed over yet; the number spooled."""
    session_id = str(event.get("session_id") or "")
    transcript = event.get("transcript_path")
    if not session_id or not isinstance(transcript, str) or not transcript:
        return 0
    path = Path(transcript)
    state = SessionState.load(directory, session_id)
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if state.transcript != transcript or size < state.offset:
        state.transcript, state.offset = transcript, 0  # another file, or one rewritten
    turns, end = read_turns(path, session_id=session_id, offset=state.offset)
    flush = event.get("hook_event_name") in FLUSH_EVENTS
    done = set(state.done or [])
    next_offset = end
    count = 0
    for index, turn in enumerate(turns):
        key = record_id(turn)
        if key in done:
            continue
        is_last = index == len(turns) - 1
        waiting = not turn.complete or (is_last and _running_subagents(event))
        if waiting and not flush:
            next_offset = min(next_offset, turn.offset)
            continue
        task = build_task(turn, send_prompts=send_prompts)
        advice = given(directory, session_id, turn.prompt)
        if advice:
            task["advice"] = advice
        spool(directory, task)
        state.done = [*(state.done or []), key]
        done.add(key)
        count += 1
    state.offset = next_offset
    state.save()
    if flush:
        forget_old_sessions(directory)
    return count


def run(stdin: BinaryIO, environ: Any, *, started: float, budget: float = BUDGET) -> None:
    config = Config.from_env(environ)
    if config is None:
        return  # not configured: record nothing, cost nothing
    directory = state_dir(environ)
    try:
        event = json.loads(stdin.read(MAX_INPUT) or b"{}")
    except ValueError:
        event = {}
    if not isinstance(event, dict):
        event = {}
    deadline = started + budget
    with locked(directory, wait=min(0.5, budget / 3)) as have_lock:
        if not have_lock:
            log(directory, "another hook run holds the lock; this run's turns go next time")
            return
        spooled = 0
        try:
            spooled = collect(event, directory, send_prompts=send_prompts_enabled(environ))
        except Exception as exc:  # a transcript shape we do not know must not stop sending
            log(directory, f"reading the transcript failed: {exc!r}")
        outcome: list[tuple[int, int]] = []
        sender = threading.Thread(
            target=_drain_quietly, args=(directory, config, deadline, outcome), daemon=True
        )
        sender.start()
        sender.join(max(0.0, deadline - time.monotonic()))
    if environ.get("PERFSITE_DEBUG") == "1":
        sent, left = outcome[0] if outcome else (0, -1)
        log(
            directory,
            f"{event.get('hook_event_name')}: {spooled} new, {sent} sent, "
            f"{left if left >= 0 else 'unknown'} left, {time.monotonic() - started:.3f}s",
        )


def _drain_quietly(
    directory: Path, config: Config, deadline: float, outcome: list[tuple[int, int]]
) -> None:
    try:
        outcome.append(drain(directory, config, deadline=deadline))
    except Exception as exc:
        log(directory, f"sending failed: {exc!r}")


def run_advice(raw: bytes, environ: Any, stdout: Any) -> None:
    """``UserPromptSubmit``: print the advice for the prompt (advice.py), or nothing."""
    from .advice import advise, output

    try:
        event = json.loads(raw or b"{}")
    except ValueError:
        return
    if not isinstance(event, dict):
        return
    text = advise(event, environ)
    if text:
        stdout.write(output(text))
        stdout.flush()


def main(stdin: BinaryIO | None = None, environ: Any = None, stdout: Any = None) -> int:
    """Run once; always 0. Unexpected errors are logged, never shown to the agent."""
    started = time.monotonic()
    environ = os.environ if environ is None else environ
    stdin = stdin or sys.stdin.buffer
    try:
        raw = stdin.read(MAX_INPUT)
        if b'"UserPromptSubmit"' in raw[:MAX_INPUT]:
            event_name = _event_name(raw)
            if event_name == "UserPromptSubmit":
                from .advice import enabled

                if enabled(environ):
                    run_advice(raw, environ, stdout or sys.stdout)
                return 0
        run(io.BytesIO(raw), environ, started=started)
    except BaseException as exc:  # even KeyboardInterrupt: the agent must not see a traceback
        log(state_dir(environ), f"hook failed: {exc!r}")
    return 0


def _event_name(raw: bytes) -> str | None:
    try:
        event = json.loads(raw or b"{}")
    except ValueError:
        return None
    return event.get("hook_event_name") if isinstance(event, dict) else None
