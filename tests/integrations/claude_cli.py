"""Running the real Claude Code CLI (pinned in tests/integrations/client) in a throwaway HOME.

The CLI is installed by ``make test`` with ``npm ci`` (tests/integrations/client/package.json
and its lock file pin the version). It talks to a scripted stand-in for the Anthropic API
(fake_anthropic.py), and the plugin is installed from this checkout with the two commands the
README gives a user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).resolve().parent / "client"
CLAUDE = CLIENT / "node_modules" / ".bin" / "claude"
ALLOWED_TOOLS = "Write,Edit,Read,Bash,Skill,Agent"
MODEL = "claude-sonnet-4-5"
REQUIRE_ENV = "PERFSITE_REQUIRE_CLAUDE"


def missing_reason() -> str | None:
    """Why the CLI cannot run here, or None."""
    override = os.environ.get("PERFSITE_CLAUDE_BIN")
    binary = Path(override) if override else CLAUDE
    if not binary.exists():
        how = "npm ci --prefix tests/integrations/client (make test does it when npm is present)"
        if shutil.which("npm") is None:
            return f"npm is not installed, so the Claude Code CLI is not either ({how})"
        return f"the Claude Code CLI is not installed at {binary}: run {how}"
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        return f"the Claude Code CLI at {binary} does not start: {exc}"
    if done.returncode != 0:
        return f"the Claude Code CLI at {binary} does not start: {done.stderr.strip()[:300]}"
    return None


def binary() -> str:
    return os.environ.get("PERFSITE_CLAUDE_BIN") or str(CLAUDE)


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's own Claude or Perfsite setup leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home / "tmp"),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(extra)
    return env


def run_cli(args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    done = subprocess.run(
        [binary(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(
            f"claude {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def install_plugin(home: Path) -> None:
    """The README's two commands, from this checkout."""
    env = base_env(home)
    run_cli(["plugin", "marketplace", "add", str(ROOT)], env=env, cwd=home)
    run_cli(["plugin", "install", "perfsite-recorder@perfsite"], env=env, cwd=home)


@dataclass
class Run:
    result: dict[str, Any]
    seconds: float
    returncode: int
    stderr: str

    @property
    def session_id(self) -> str:
        return self.result["session_id"]


def prompt(
    text: str,
    *,
    home: Path,
    cwd: Path,
    api_url: str,
    perfsite_url: str,
    token: str,
    state_dir: Path,
    resume: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Run:
    """``claude -p TEXT --output-format json`` with the plugin's hook pointed at Perfsite."""
    env = base_env(
        home,
        ANTHROPIC_BASE_URL=api_url,
        ANTHROPIC_API_KEY="test",
        PERFSITE_URL=perfsite_url,
        PERFSITE_TOKEN=token,
        PERFSITE_STATE_DIR=str(state_dir),
        **(extra_env or {}),
    )
    args = ["-p", text, "--output-format", "json", "--model", MODEL]
    args += ["--allowedTools", ALLOWED_TOOLS]
    if resume:
        args += ["--resume", resume]
    started = time.monotonic()
    done = subprocess.run(
        [binary(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    seconds = time.monotonic() - started
    try:
        result = json.loads(done.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"claude -p gave no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        ) from exc
    return Run(result=result, seconds=seconds, returncode=done.returncode, stderr=done.stderr)


def transcript_path(home: Path, session_id: str) -> Path:
    found = list((home / ".claude" / "projects").glob(f"*/{session_id}.jsonl"))
    assert len(found) == 1, f"transcript of {session_id}: {found}"
    return found[0]


def stop_hook_durations(transcript: Path) -> list[int]:
    """Milliseconds each Stop hook run took, as Claude Code itself measured and wrote them."""
    durations = []
    for line in transcript.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("type") == "system" and entry.get("subtype") == "stop_hook_summary":
            durations += [info.get("durationMs", 0) for info in entry.get("hookInfos", [])]
    return durations
