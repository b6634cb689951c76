"""Fixtures for the Claude Code plugin's tests.

The reader and the hook are standard-library modules under integrations/claude-code (agent
hosts have no Django); the tests import them from there. The end-to-end tests run the real CLI:
without it they skip with the reason, unless PERFSITE_REQUIRE_CLAUDE=1 (CI), where a missing
CLI fails the run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integrations import claude_cli

PLUGIN = claude_cli.ROOT / "integrations" / "claude-code"
if str(PLUGIN) not in sys.path:
    sys.path.insert(0, str(PLUGIN))

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def claude_home(tmp_path_factory) -> Path:
    """A HOME where the plugin is installed the README's way, shared by the end-to-end tests."""
    reason = claude_cli.missing_reason()
    if reason:
        if os.environ.get(claude_cli.REQUIRE_ENV) == "1":
            pytest.fail(f"{claude_cli.REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("claude-home")
    claude_cli.install_plugin(home)
    return home


@pytest.fixture(scope="session")
def live_server(request) -> Iterator:
    """pytest-django's live server, bound to 127.0.0.1 on a port the OS picks."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("127.0.0.1:0")
    yield server
    server.stop()


@pytest.fixture
def perfsite(live_server, transactional_db) -> tuple[str, str]:
    """(URL, token) of a live Perfsite whose records the test reads through the ORM."""
    from records.recording.tokens import token_create

    _, raw = token_create(name="claude-code-plugin")
    return live_server.url, raw


@pytest.fixture
def project(tmp_path) -> Path:
    """A git repository on branch feature-x whose origin is acme/widgets: project "widgets"."""
    folder = tmp_path / "widgets-checkout"
    folder.mkdir()
    git = ["git", "-C", str(folder)]
    subprocess.run([*git, "init", "-q", "-b", "feature-x"], check=True)
    remote = "https://git.example.invalid/acme/widgets.git"
    subprocess.run([*git, "remote", "add", "origin", remote], check=True)
    return folder


@contextmanager
def refused_port() -> Iterator[str]:
    """A loopback URL where nothing listens: connections are refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"http://127.0.0.1:{port}"


@contextmanager
def hanging_server() -> Iterator[str]:
    """A loopback URL that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
