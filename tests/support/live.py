"""A real Perfsite for tests and benchmarks: its own database, migrated by subprocess, and gunicorn.

pytest-django's test database lives inside the test process (in memory for SQLite); server and
client processes cannot see it. Everything here runs ``manage.py`` and gunicorn as subprocesses
against a database made for the purpose: a SQLite file in a temporary directory, or a fresh
PostgreSQL database (created and dropped) on the server DATABASE_URL names.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in {"postgres", "postgresql", "pgsql"}


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PERFSITE_DATA_DIR"}}
    env.update(
        DJANGO_SETTINGS_MODULE="perfsite.settings",
        DJANGO_DEBUG="1",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        PERFSITE_MODEL="",
        ANTHROPIC_MODEL="",
    )
    env.update(extra)
    return env


def production_env(env: dict[str, str], *, static_root: Path, **extra: str) -> dict[str, str]:
    """``env`` with the README's production settings: DJANGO_DEBUG=0 (so the manifest storage),
    a real secret key, ``collectstatic`` into ``static_root``; plain http on loopback."""
    return env | {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": str(static_root),
        **extra,
    }


def sqlite_env(directory: Path) -> dict[str, str]:
    """Settings' default SQLite (WAL, busy timeout, IMMEDIATE), in a file under ``directory``."""
    return base_env(PERFSITE_DATA_DIR=str(directory))


@contextmanager
def postgres_database(server_url: str, *, suffix: str = "conc") -> Iterator[dict[str, str]]:
    """A new, empty database on the server of ``server_url``; dropped afterwards."""
    import psycopg

    parts = urlsplit(server_url)
    base_name = parts.path.lstrip("/") or "perfsite"
    name = f"{base_name}_{suffix}_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base_env(DATABASE_URL=urlunsplit(parts._replace(path=f"/{name}")))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_connections(env: dict[str, str]) -> int:
    """How many sessions PostgreSQL has open on the database of ``env`` (this one left out)."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return conn.execute(query).fetchone()[0]


BACKENDS = ("sqlite", "postgresql")


@contextmanager
def backend_env(backend: str, directory: Path, *, suffix: str) -> Iterator[dict[str, str]]:
    """The environment of a fresh, empty database of ``backend``: a SQLite file in ``directory``,
    or a PostgreSQL database (dropped afterwards) on the server DATABASE_URL names; the test is
    skipped when it names none."""
    import pytest

    server_url = os.environ.get("DATABASE_URL")
    if backend == "sqlite":
        yield sqlite_env(directory)
    elif not is_postgres(server_url):
        pytest.skip("DATABASE_URL does not point to PostgreSQL")
    else:
        with postgres_database(server_url, suffix=suffix) as env:
            yield env


def manage(env: dict[str, str], *args: str, input: bytes | None = None, timeout=300) -> str:
    """Run ``manage.py``; its stdout, or AssertionError with its stderr."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        input=input,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stderr.decode()}")
    return done.stdout.decode()


def create_token(env: dict[str, str], name: str = "load-test") -> str:
    return manage(env, "create_api_token", name).strip().splitlines()[-1]


def stored_records(env: dict[str, str]) -> dict[str, str]:
    """{record_id: source} of every stored record, read by a subprocess."""
    code = (
        "import json; from records.models import TaskRecord; "
        "print(json.dumps(dict(TaskRecord.objects.values_list('record_id', 'source'))))"
    )
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


# The server `make serve` and the README's production section run, less --bind, --workers and
# --timeout (the tests set their own): the application and its worker class. gunicorn's asgi
# worker reads requests on an event loop, so a slow client holds a socket, not a worker.
PRODUCTION_SERVER = ("perfsite.asgi:application", "--worker-class", "asgi")
# What production ran before: sync workers, each blocked by one client until its request is in.
SYNC_SERVER = ("perfsite.wsgi",)


@contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    workers: int = 2,
    log: Path,
    server: Sequence[str] = PRODUCTION_SERVER,
) -> Iterator[str]:
    """gunicorn running ``server`` (the app and its worker options: the production ones unless
    told) with ``workers`` workers on a free port of 127.0.0.1; yields the base URL."""
    with gunicorn_process(env, workers=workers, log=log, server=server) as (url, _process):
        yield url


@contextmanager
def gunicorn_process(
    env: dict[str, str],
    *,
    workers: int = 2,
    log: Path,
    server: Sequence[str] = PRODUCTION_SERVER,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As ``gunicorn``, yielding the base URL and the master process (crash tests kill it).

    The test binds the socket (port 0: the OS picks a free one) and hands it to gunicorn, so no
    port can be taken in between. Its backlog is gunicorn's default, 2048.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    with open(log, "wb") as log_file:
        command = [sys.executable, "-m", "gunicorn", *server, "--workers", str(workers)]
        command += [
            "--bind",
            f"fd://{sock.fileno()}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    sock.close()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
        yield url, process
    finally:
        if process.poll() is None:  # not already killed by the test
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/openapi.json", timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gunicorn did not answer in {timeout}s:\n{log.read_text()}")
        time.sleep(0.2)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the caller sees the 3xx and its Location


def fetch(
    url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, Message, bytes]:
    """GET ``url`` (POST ``data`` if given) without following redirects: (status, headers, body),
    whatever the status."""
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with opener.open(request, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process and its children (gunicorn's master and workers) at once, no cleanup."""
    pid = process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    child_pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    for target in [pid, *child_pids]:
        with suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)
    process.wait()


def start_script(script: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
    """Start one of the worker scripts beside this module (they print JSON on stdout)."""
    return subprocess.Popen(
        [sys.executable, str(SUPPORT / script), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> dict:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0 and not out.strip():
        raise AssertionError(f"{process.args} exited {process.returncode}:\n{err.decode()}")
    result = json.loads(out)
    result["returncode"] = process.returncode
    result["stderr"] = err.decode()
    return result
