"""A summarised turn as the task Perfsite's ``POST /api/records`` takes (docs/recording.md).

The new fields (session, project, branch, tokens, prompt id) go in the same JSON body under
their own names: the server keeps keys it does not know in the record's raw payload.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath
from typing import Any

from .transcript import Turn

MAX_DESCRIPTION = 20_000  # the server's limit for text fields
MAX_ITEMS = 500  # the server's limit for lists
MAX_RECORD_ID = 200
RECORD_ID_PREFIX = "cc-"  # a record id must not start with "idem-"

_DOC_SUFFIXES = frozenset(
    {".md", ".mdx", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".org"}
)
_DOC_NAMES = frozenset({"readme", "changelog", "changes", "contributing", "authors", "license"})
_DOC_FOLDERS = frozenset({"docs", "doc", "documentation"})
_TEST_FOLDERS = frozenset({"tests", "test", "__tests__", "spec", "specs"})
_TEST_NAME = re.compile(
    r"^(?:test_.+\.py|.+_test\.(?:py|go|rb|rs)|.+\.(?:test|spec)\.[cm]?[jt]sx?|.+Tests?\.(?:java|kt|cs))$"
)
_RECORD_ID_BAD = re.compile(r"[\s/?#]+")


def file_kind(path: str) -> str:
    """``docs``, ``tests`` or ``code``: what editing this file says about the work."""
    pure = PurePath(path)
    folders = {part.lower() for part in pure.parts[:-1]}
    if _TEST_NAME.match(pure.name) or folders & _TEST_FOLDERS:
        return "tests"
    if pure.suffix.lower() in _DOC_SUFFIXES or pure.stem.lower() in _DOC_NAMES:
        return "docs"
    return "docs" if folders & _DOC_FOLDERS else "code"


def action_label(turn: Turn) -> str | None:
    """The task type that what the turn did makes plain, or ``None`` to let the prompt decide.

    Only docs touched: documentation. Only tests: testing. Only new files, some of them code:
    coding. Anything else (edits to existing code) could be a fix, a refactoring or a feature,
    which only the prompt tells.
    """
    created, edited = turn.work.created, turn.work.edited
    if not created and not edited:
        return None
    kinds = {file_kind(path) for path in created | edited}
    if kinds == {"docs"}:
        return "documentation"
    if kinds == {"tests"}:
        return "testing"
    if not edited and "code" in kinds:
        return "coding"
    return None


def record_id(turn: Turn) -> str:
    """One id per turn, the same every time the hook reads it: a hook that fires twice, or a
    spooled task sent again, is stored once (the server answers 200 with the stored id)."""
    raw = f"{RECORD_ID_PREFIX}{turn.session_id}-{turn.prompt_id}"
    return _RECORD_ID_BAD.sub("-", raw)[:MAX_RECORD_ID]


# --- project and branch ----------------------------------------------------------------------


def _git_dir(start: Path) -> tuple[Path, Path] | None:
    """(work tree root, its git directory) for ``start``, without running git (it may be slow
    or missing); ``.git`` files (worktrees, submodules) are followed."""
    for folder in (start, *start.parents):
        marker = folder / ".git"
        if marker.is_dir():
            return folder, marker
        if marker.is_file():
            try:
                line = marker.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                git_dir = Path(line[len("gitdir:") :].strip())
                return folder, git_dir if git_dir.is_absolute() else folder / git_dir
            return None
    return None


def _common_dir(git_dir: Path) -> Path:
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    path = Path(common)
    return path if path.is_absolute() else (git_dir / path).resolve()


def _remote_name(common: Path) -> str | None:
    import configparser

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(common / "config", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    section = 'remote "origin"'
    if not parser.has_section(section) or not parser.has_option(section, "url"):
        return None
    url = parser.get(section, "url").strip().rstrip("/")
    name = re.split(r"[/:]", url)[-1]
    name = name[:-4] if name.endswith(".git") else name
    return name or None


def project_and_branch(cwd: str | None) -> tuple[str | None, str | None]:
    """The project (the origin remote's repository name, else the repository's folder, else the
    folder) and the checked-out branch (``None`` outside git; ``HEAD`` when detached)."""
    if not cwd:
        return None, None
    folder = Path(cwd)
    found = _git_dir(folder)
    if found is None:
        return folder.name or None, None
    root, git_dir = found
    common = _common_dir(git_dir)
    project = _remote_name(common)
    if project is None:
        # A linked worktree's folder is often named after its branch: name the main checkout.
        project = common.parent.name if common.name == ".git" else root.name
    branch = None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        head = ""
    if head.startswith("ref:"):
        branch = head[len("ref:") :].strip()
        branch = branch[len("refs/heads/") :] if branch.startswith("refs/heads/") else branch
    elif head:
        branch = "HEAD"
    return project, branch


# --- the task --------------------------------------------------------------------------------


def build_task(turn: Turn, *, send_prompts: bool = True) -> dict[str, Any]:
    """The JSON body for ``POST /api/records``.

    With ``send_prompts`` false no prompt text or quoted output leaves the machine: the task
    type is classified here, with a copy of the server's rules, and issues name only the tool.
    """
    label = action_label(turn)
    task: dict[str, Any] = {}
    if send_prompts and turn.prompt:
        task["description"] = turn.prompt[:MAX_DESCRIPTION]
        if label:
            task["task_type"] = label
    else:
        # Imported only here: compiling the rules' patterns costs time every other run saves.
        from .classification import classify_task

        task["task_type"] = label or classify_task(turn.prompt)
    project, branch = project_and_branch(turn.cwd)
    if branch is not None and turn.git_branch:
        branch = turn.git_branch  # the branch when the turn ran, not when the hook reads it
    work = turn.work
    issues = work.issues if send_prompts else work.private_issues
    task.update(
        {
            "model_used": turn.model,
            "duration": round(turn.duration, 3),
            "success": turn.success,
            "files_modified": len(turn.files),
            "lines_changed": work.lines_changed,
            "skills_used": work.skills[:MAX_ITEMS],
            "agents_delegated": work.agents[:MAX_ITEMS],
            "issues_found": issues[:MAX_ITEMS],
            "auto_generated": True,
            "record_id": record_id(turn),
            "session_id": turn.session_id,
            "prompt_id": turn.prompt_id,
            "project": project,
            "git_branch": branch,
            "input_tokens": work.tokens.input,
            "output_tokens": work.tokens.output,
            "cache_read_tokens": work.tokens.cache_read,
            "cache_creation_tokens": work.tokens.cache_creation,
            "agent_client": f"claude-code {turn.version}" if turn.version else "claude-code",
        }
    )
    if work.last is not None:
        task["recorded_at"] = work.last.isoformat().replace("+00:00", "Z")
    return {key: value for key, value in task.items() if value is not None}


def send_prompts_enabled(environ: dict[str, str] | os._Environ) -> bool:
    value = environ.get("PERFSITE_SEND_PROMPTS", "1").strip().lower()
    return value not in {"0", "false", "no", "off"}
