"""Getting tasks to Perfsite without ever holding the agent up, and without losing any.

Everything lives under the user's state directory (``$XDG_STATE_HOME/perfsite``, else
``~/.local/state/perfsite``; ``PERFSITE_STATE_DIR`` overrides it):

- ``spool/``: one JSON file per task not yet stored, named ``<nanoseconds>-<record id>.json``
  so that sorting the names sends the oldest first. Every new task is written here *before*
  any request, so a hook killed mid-request loses nothing;
- ``sessions/<session id>.json``: the turns of that session already handed over (spooled, sent
  or rejected) and how far its transcript has been read, so each run reads only new lines;
- ``rejected.jsonl``: tasks the server refused as invalid (400, 413, 422, other 4xx), with its
  answer: retrying the same body will not help, so they are logged and dropped;
- ``advice/<session id>.json``: with ``PERFSITE_ADVISE=1``, Perfsite's answers per task type and
  the advice each prompt was given (advice.py);
- ``hook.log``: what went wrong, for a person to read (kept under 1 MB).

The spool is sent oldest first in lists of up to ``BATCH_TASKS`` tasks (``POST /api/records``
takes a JSON list and answers each item: 201/200 stored, 400/409 refused). A server that does
not take lists (an older Perfsite answers 400 or 413 about the body) is sent one task per request.

Answers that say the *server or its configuration* is not ready (no connection, a timeout, 5xx,
401/403 a bad token, 404 a wrong URL, 408, 429) leave the tasks in the spool for the next run;
only one request is spent finding that out, and a task still refused that way after
``GIVE_UP_AFTER`` is moved to ``rejected.jsonl`` so the spool cannot grow without end. Every task
carries its record id, so a list sent again after a lost answer is stored once.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from . import __version__

MAX_LOG_BYTES = 1_000_000
MAX_REMEMBERED_TURNS = 2_000
GIVE_UP_AFTER = 30 * 24 * 3600  # seconds a task may wait for a fixed token or URL
FORGET_SESSIONS_AFTER = 30 * 24 * 3600  # seconds before an untouched session's notes go
REQUEST_TIMEOUT = 1.0  # seconds for one request: a hanging server costs at most this
AWAY_FOR = 10.0  # seconds to leave a server that timed out alone (SessionEnd follows Stop)
RETRY_STATUSES = frozenset({401, 403, 404, 408, 429})
TIMED_OUT = -1  # post()'s status when the server took the connection but did not answer
BATCH_TASKS = 100  # tasks per request (the server takes up to 1,000): each answers well within 1 s
BATCH_BYTES = 512 * 1024  # and at most this much JSON (the server takes 8 MiB)
MAX_ANSWER = 1_000_000  # bytes of a list's answer read (about 100 bytes per item)


def state_dir(environ: Any = os.environ) -> Path:
    explicit = environ.get("PERFSITE_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "perfsite"


def log(directory: Path, message: str) -> None:
    """Append a line to ``hook.log``; never raises (the hook must stay silent and harmless)."""
    path = directory / "hook.log"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(directory / "hook.log.1")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {message}\n")
    except OSError:
        pass


def _write_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
    os.replace(temporary, path)


@contextlib.contextmanager
def locked(directory: Path, *, wait: float) -> Iterator[bool]:
    """An exclusive lock on the state directory for one hook run (Stop and SessionEnd of one
    session, or two sessions, may overlap); yields False when it could not be had in time."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; record ids keep duplicates out anyway
        yield True
        return
    with open(directory / "lock", "a") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- what a session has handed over ----------------------------------------------------------


@dataclass
class SessionState:
    path: Path
    transcript: str = ""
    offset: int = 0
    done: list[str] | None = None

    @classmethod
    def load(cls, directory: Path, session_id: str) -> SessionState:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in session_id)[:200]
        path = directory / "sessions" / f"{safe or 'unknown'}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        done = data.get("done")
        return cls(
            path=path,
            transcript=str(data.get("transcript") or ""),
            offset=data.get("offset") if isinstance(data.get("offset"), int) else 0,
            done=[str(item) for item in done] if isinstance(done, list) else [],
        )

    def save(self) -> None:
        done = (self.done or [])[-MAX_REMEMBERED_TURNS:]
        _write_atomic(
            self.path, {"transcript": self.transcript, "offset": self.offset, "done": done}
        )


def forget_old_sessions(directory: Path, *, now: float | None = None) -> int:
    """Delete the notes of sessions untouched for ``FORGET_SESSIONS_AFTER``; how many."""
    now = time.time() if now is None else now
    forgotten = 0
    try:
        paths = list((directory / "sessions").iterdir())
    except OSError:
        return 0
    for path in paths:
        try:
            if now - path.stat().st_mtime > FORGET_SESSIONS_AFTER:
                path.unlink()
                forgotten += 1
        except OSError:
            continue
    return forgotten


# --- the spool -------------------------------------------------------------------------------


def spool(directory: Path, task: dict[str, Any]) -> Path:
    name = f"{time.time_ns():020d}-{task.get('record_id', 'task')}.json"
    path = directory / "spool" / name
    _write_atomic(path, task)
    return path


def spooled(directory: Path) -> list[Path]:
    folder = directory / "spool"
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.name[0] != ".")
    except OSError:
        return []


def _reject(directory: Path, task: Any, status: int, answer: str) -> None:
    line = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "status": status, "answer": answer[:2000]}
    line["task"] = task
    try:
        with open(directory / "rejected.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError:
        pass


# --- sending ---------------------------------------------------------------------------------


@dataclass
class Config:
    url: str
    token: str

    @classmethod
    def from_env(cls, environ: Any = os.environ) -> Config | None:
        url = (environ.get("PERFSITE_URL") or "").strip().rstrip("/")
        if not url:
            return None
        return cls(url=url, token=(environ.get("PERFSITE_TOKEN") or "").strip())


def post(config: Config, task: Any, *, timeout: float, limit: int = 4096) -> tuple[int, str]:
    """POST one task (or a list of them): (HTTP status, body, at most ``limit`` bytes); status 0
    when no connection could be made (refused, no route, bad name), ``TIMED_OUT`` when the
    server did not answer in ``timeout``."""
    import urllib.error  # here, not at the top: a run with nothing to send never pays for it
    import urllib.request

    body = _encode(task)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"perfsite-recorder/{__version__}",
    }
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    request = urllib.request.Request(
        f"{config.url}/api/records", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(limit).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        try:
            answer = exc.read(4096).decode("utf-8", "replace")
        except OSError:
            answer = ""
        return exc.code, answer
    except (OSError, ValueError) as exc:  # refused, reset, timeout, DNS, bad URL
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return TIMED_OUT, f"no answer in {timeout:.1f}s"
        return 0, str(exc)


def _away_marker(directory: Path) -> Path:
    return directory / "server-away"


def server_away(directory: Path) -> bool:
    """True for ``AWAY_FOR`` seconds after a request timed out: the hook that runs right after
    (SessionEnd after Stop) does not wait for the same silent server a second time."""
    try:
        until = float(_away_marker(directory).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return time.time() < until


def _encode(task: Any) -> bytes:
    return json.dumps(task, ensure_ascii=False).encode("utf-8")


def _not_ready(status: int) -> bool:
    return status <= 0 or status >= 500 or status in RETRY_STATUSES


def _read_spooled(directory: Path, path: Path) -> Any:
    """A spooled task, or None (logged, moved to rejected.jsonl, removed) if it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log(directory, f"unreadable spool file {path.name}: {exc}")
        _reject(directory, None, 0, f"unreadable spool file {path.name}")
        path.unlink(missing_ok=True)
        return None


def _batches(directory: Path, files: list[Path]) -> Iterator[list[tuple[Path, Any]]]:
    """The spooled tasks, oldest first, in lists of at most BATCH_TASKS and BATCH_BYTES."""
    batch: list[tuple[Path, Any]] = []
    size = 2
    for path in files:
        task = _read_spooled(directory, path)
        if task is None:
            continue
        length = len(_encode(task)) + 1
        if batch and (len(batch) >= BATCH_TASKS or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 2
        batch.append((path, task))
        size += length
    if batch:
        yield batch


def _results(answer: str, count: int) -> list[dict[str, Any]] | None:
    """The per-item results of a list's 200 answer, or None if it is not one for ``count``."""
    try:
        results = json.loads(answer).get("results")
    except (ValueError, AttributeError):
        return None
    if not isinstance(results, list) or len(results) != count:
        return None
    if not all(isinstance(item, dict) and isinstance(item.get("status"), int) for item in results):
        return None
    return results


def _away(directory: Path) -> None:
    with contextlib.suppress(OSError):
        _away_marker(directory).write_text(str(time.time() + AWAY_FOR), encoding="utf-8")


def _keep(directory: Path, config: Config, status: int, answer: str, batch, left: int) -> None:
    """Not ready: the tasks stay (those refused that way for GIVE_UP_AFTER are dropped)."""
    log(directory, f"{config.url} not ready ({answer if status <= 0 else status}); {left} spooled")
    if status in RETRY_STATUSES:
        for path, task in batch:
            if _age(path) > GIVE_UP_AFTER:
                _reject(directory, task, status, answer)
                path.unlink(missing_ok=True)


def drain(directory: Path, config: Config, *, deadline: float) -> tuple[int, int]:
    """Send spooled tasks, oldest first, until the spool is empty, the server is found away,
    or ``deadline`` (a ``time.monotonic()`` value) comes. (sent, left)."""
    files = spooled(directory)
    if not files or server_away(directory):
        return 0, len(files)
    sent = handled = 0
    lists = True  # until the server shows it takes none
    for batch in _batches(directory, files):
        remaining = deadline - time.monotonic()
        if remaining < 0.05:
            break
        if lists:
            tasks = [task for _, task in batch]
            timeout = min(REQUEST_TIMEOUT, remaining)
            status, answer = post(config, tasks, timeout=timeout, limit=MAX_ANSWER)
            if status == TIMED_OUT:
                _away(directory)
            results = _results(answer, len(batch)) if status == 200 else None
            lists = results is not None or status not in (400, 413)
            if results is None and lists:
                _keep(directory, config, status, answer, batch, len(files) - handled)
                break
        if lists:
            sent += _settle(directory, batch, results)
        else:
            done, stop = _drain_one_by_one(directory, config, batch, deadline)
            sent += done
            if stop:
                break
        handled += len(batch)
    return sent, len(spooled(directory))


def _settle(directory: Path, batch: list[tuple[Path, Any]], results: list[dict[str, Any]]) -> int:
    """Remove the tasks a list's answer stored or refused for good; how many were stored."""
    sent = 0
    for (path, task), item in zip(batch, results):
        if item["status"] in (200, 201):
            path.unlink(missing_ok=True)
            sent += 1
        elif not _not_ready(item["status"]):
            text = json.dumps(item, ensure_ascii=False)
            log(directory, f"task {task.get('record_id')} rejected: {text[:300]}")
            _reject(directory, task, item["status"], text)
            path.unlink(missing_ok=True)
    return sent


def _drain_one_by_one(
    directory: Path, config: Config, batch: list[tuple[Path, Any]], deadline: float
) -> tuple[int, bool]:
    """Send a batch's tasks one per request (a server that takes no lists): (sent, stop)."""
    sent = 0
    for index, (path, task) in enumerate(batch):
        remaining = deadline - time.monotonic()
        if remaining < 0.05:
            return sent, True
        status, answer = post(config, task, timeout=min(REQUEST_TIMEOUT, remaining))
        if status == TIMED_OUT:
            _away(directory)
        if status in (200, 201):
            path.unlink(missing_ok=True)
            sent += 1
            continue
        if _not_ready(status):
            _keep(directory, config, status, answer, batch[index:], len(batch) - index)
            return sent, True
        log(directory, f"task {task.get('record_id')} rejected with {status}: {answer[:300]}")
        _reject(directory, task, status, answer)
        path.unlink(missing_ok=True)
    return sent, False


def _age(path: Path) -> float:
    try:
        return time.time() - int(path.name.split("-", 1)[0]) / 1e9
    except ValueError:
        return 0.0
