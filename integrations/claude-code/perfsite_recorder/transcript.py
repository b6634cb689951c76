"""Read a Claude Code session transcript (JSONL) into one summary per user turn.

Standard library only: this runs on agent hosts, which have Python 3 but not Django.

What a transcript looks like (Claude Code 2.x; tests/integrations/fixtures holds real ones):

- one JSON object per line; ``type`` is ``user``, ``assistant``, ``system``, ``attachment`` or
  one of many bookkeeping types (``queue-operation``, ``api-request``, ``cost-state``, …) that
  say nothing about the work and are skipped without being parsed when the line shows it;
- a *turn* starts at a ``user`` line carrying the person's prompt (text, not tool results) and
  runs until the next one. ``user`` lines that are not prompts continue the turn: tool results,
  ``isMeta`` expansions (a skill's body), compaction summaries, "[Request interrupted by user]",
  and ``<task-notification>`` messages that wake the main agent when a background sub-agent ends;
- one API message is written as several ``assistant`` lines (one per content block) that share
  ``message.id`` and carry the same ``usage``, so usage is counted once per message id;
- a tool's outcome is in the next ``user`` line's ``toolUseResult``: Write gives
  ``{"type": "create"|"update", "filePath", "content", "structuredPatch"}``, Edit and MultiEdit
  ``{"filePath", "structuredPatch", "originalFile", …}``, NotebookEdit ``{"notebook_path", …}``;
  a failed tool has ``is_error: true`` on its ``tool_result`` block;
- sub-agents (tool ``Agent``; ``Task`` before 2.1) write their own transcript beside the
  session's, ``<session dir>/<session id>/subagents/agent-<agentId>.jsonl`` (2.0.x wrote
  ``agent-<agentId>.jsonl`` in the project folder; older versions wrote ``isSidechain`` lines
  into the session file itself, and only the tool result's ``usage`` otherwise). The agent's id
  is in the tool result (``toolUseResult.agentId``). Since 2.1 an agent may run in the
  background: its tool result says ``async_launched`` and the turn is not over until the
  matching ``<task-notification>`` arrives;
- an API failure is an ``assistant`` line with ``isApiErrorMessage: true`` (model
  ``<synthetic>``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
AGENT_TOOLS = frozenset({"Agent", "Task"})
SKILL_TOOLS = frozenset({"Skill"})
SYNTHETIC_MODEL = "<synthetic>"
MAX_SUBAGENT_DEPTH = 3
MAX_ISSUE = 300  # characters of one issue: enough to recognise it, far under the server's 2,000

# Lines whose type is one of these are bookkeeping: skipped before json.loads when the line
# shows its type, because some (request shapes, prompt snapshots) are 100 KB each.
_USEFUL = re.compile(rb'"type"\s*:\s*"(?:user|assistant|system|attachment)"')
_INTERRUPTED = "[Request interrupted by user"
_NOTIFICATION = re.compile(r"^\s*<task-notification>")
_NOTIFIED_TOOL = re.compile(r"<tool-use-id>([^<]+)</tool-use-id>")
_NOTIFIED_TASK = re.compile(r"<task-id>([^<]+)</task-id>")
_COMMAND_NAME = re.compile(r"<command-name>([^<]*)</command-name>")
_COMMAND_ARGS = re.compile(r"<command-args>([^<]*)</command-args>", re.DOTALL)
_TOOL_ERROR_TAG = re.compile(r"</?tool_use_error>")


@dataclass
class Entry:
    """One parsed transcript line and the byte offset where it starts."""

    offset: int
    data: dict[str, Any]


@dataclass
class Tokens:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0

    def add(self, other: Tokens) -> None:
        self.input += other.input
        self.output += other.output
        self.cache_read += other.cache_read
        self.cache_creation += other.cache_creation


@dataclass
class Work:
    """What some stretch of transcript did: the part a turn and its sub-agents add up."""

    created: set[str] = field(default_factory=set)
    edited: set[str] = field(default_factory=set)
    lines_changed: int = 0
    skills: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    private_issues: list[str] = field(default_factory=list)  # the same, without quoted text
    tokens: Tokens = field(default_factory=Tokens)
    models: Counter = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def merge(self, other: Work) -> None:
        self.created |= other.created
        self.edited |= other.edited - self.created
        self.lines_changed += other.lines_changed
        _extend_unique(self.skills, other.skills)
        _extend_unique(self.agents, other.agents)
        self.issues.extend(other.issues)
        self.private_issues.extend(other.private_issues)
        self.tokens.add(other.tokens)
        self.see(other.first)
        self.see(other.last)

    def see(self, moment: datetime | None) -> None:
        if moment is None:
            return
        if self.first is None or moment < self.first:
            self.first = moment
        if self.last is None or moment > self.last:
            self.last = moment


@dataclass
class Turn:
    """One user turn, summarised. ``complete`` is false while a background sub-agent it started
    has not reported back (or the transcript ends in the middle of a tool call)."""

    session_id: str
    prompt_id: str
    prompt: str
    offset: int
    work: Work
    model: str | None
    success: bool
    complete: bool
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None

    @property
    def files(self) -> set[str]:
        return self.work.created | self.work.edited

    @property
    def duration(self) -> float:
        if self.work.first is None or self.work.last is None:
            return 0.0
        return max(0.0, (self.work.last - self.work.first).total_seconds())


# --- reading lines ---------------------------------------------------------------------------


def read_entries(path: Path, offset: int = 0) -> tuple[list[Entry], int]:
    """The useful entries from ``offset`` on, and the offset just past the last whole line.

    A line still being written (no newline yet) is left for the next read.
    """
    entries: list[Entry] = []
    with open(path, "rb") as handle:
        handle.seek(offset)
        position = offset
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            start, position = position, position + len(raw)
            if not _USEFUL.search(raw[:4096]) and not _USEFUL.search(raw):
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict):
                entries.append(Entry(start, data))
    return entries, position


# --- classifying lines -----------------------------------------------------------------------


def _content(entry: dict[str, Any]) -> Any:
    message = entry.get("message")
    return message.get("content") if isinstance(message, dict) else None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _has_tool_result(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def is_notification(entry: dict[str, Any]) -> bool:
    origin = entry.get("origin")
    if isinstance(origin, dict) and origin.get("kind") == "task-notification":
        return True
    if entry.get("turnOrigin") == "task_notification":
        return True
    return bool(_NOTIFICATION.match(_text_of(_content(entry))))


def is_prompt(entry: dict[str, Any]) -> bool:
    """A line that starts a turn: the person's own prompt, on the main thread."""
    if entry.get("type") != "user" or entry.get("isSidechain"):
        return False
    if (
        entry.get("isMeta")
        or entry.get("isCompactSummary")
        or entry.get("isVisibleInTranscriptOnly")
    ):
        return False
    content = _content(entry)
    if content is None or _has_tool_result(content):
        return False
    text = _text_of(content)
    if text.lstrip().startswith(_INTERRUPTED) or is_notification(entry):
        return False
    # Local slash commands (/clear, /model) leave their output as user lines: not prompts.
    return not text.lstrip().startswith(("<local-command-stdout>", "<local-command-stderr>"))


def prompt_text(entry: dict[str, Any]) -> str:
    """The prompt as the person typed it; ``/command args`` for a slash command."""
    text = _text_of(_content(entry)).strip()
    name = _COMMAND_NAME.search(text)
    if name:
        args = _COMMAND_ARGS.search(text)
        return " ".join(part for part in (name.group(1), args.group(1) if args else "") if part)
    return text


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- what a stretch of lines did -------------------------------------------------------------


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _usage_tokens(usage: Any) -> Tokens:
    if not isinstance(usage, dict):
        return Tokens()
    return Tokens(
        input=_number(usage.get("input_tokens")),
        output=_number(usage.get("output_tokens")),
        cache_read=_number(usage.get("cache_read_input_tokens")),
        cache_creation=_number(usage.get("cache_creation_input_tokens")),
    )


def _patch_lines(patch: Any) -> int:
    if not isinstance(patch, list):
        return 0
    changed = 0
    for hunk in patch:
        lines = hunk.get("lines") if isinstance(hunk, dict) else None
        if isinstance(lines, list):
            changed += sum(1 for line in lines if isinstance(line, str) and line[:1] in "+-")
    return changed


def _line_count(text: Any) -> int:
    return len(text.splitlines()) if isinstance(text, str) else 0


def _file_change(tool: str, result: dict[str, Any]) -> tuple[str | None, bool, int]:
    """(path, created, lines changed) from a file tool's ``toolUseResult``."""
    path = result.get("filePath") or result.get("notebook_path") or result.get("file_path")
    if not isinstance(path, str) or not path:
        return None, False, 0
    created = tool == "Write" and result.get("type") == "create"
    lines = _patch_lines(result.get("structuredPatch"))
    if not lines and created:
        lines = _line_count(result.get("content"))
    if not lines and tool == "NotebookEdit":
        lines = max(1, _line_count(result.get("new_source")))
    if not lines and tool in {"Edit", "MultiEdit"}:
        # Older results carry no patch: compare the replaced and the new text.
        edits = result.get("edits") if tool == "MultiEdit" else [result]
        for edit in edits if isinstance(edits, list) else []:
            if isinstance(edit, dict):
                old = edit.get("oldString", edit.get("old_string"))
                new = edit.get("newString", edit.get("new_string"))
                lines += _diff_lines(old, new)
    return path, created, lines


def _diff_lines(old: Any, new: Any) -> int:
    """Lines removed plus lines added between two texts, as a patch would count them."""
    before = old.splitlines() if isinstance(old, str) else []
    after = new.splitlines() if isinstance(new, str) else []
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after).get_opcodes():
        if tag != "equal":
            changed += (i2 - i1) + (j2 - j1)
    return changed


def _change_from_input(
    tool: str, tool_input: dict[str, Any], answer: str
) -> tuple[str | None, bool, int]:
    """(path, created, lines changed) from what the tool was asked to do. Sub-agent transcripts
    carry no ``toolUseResult``: their tool's input, and that it did not fail, is all there is."""
    path = tool_input.get("file_path") or tool_input.get("notebook_path")
    if not isinstance(path, str) or not path:
        return None, False, 0
    if tool == "Write":
        return path, "created" in answer.lower(), _line_count(tool_input.get("content"))
    if tool == "NotebookEdit":
        return path, False, max(1, _line_count(tool_input.get("new_source")))
    edits = tool_input.get("edits") if tool == "MultiEdit" else [tool_input]
    lines = sum(
        _diff_lines(edit.get("old_string"), edit.get("new_string"))
        for edit in (edits if isinstance(edits, list) else [])
        if isinstance(edit, dict)
    )
    return path, False, lines


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    text = content if isinstance(content, str) else _text_of(content)
    text = _TOOL_ERROR_TAG.sub("", text).strip()
    first = text.splitlines()[0] if text else "failed"
    return first[:MAX_ISSUE]


def _extend_unique(target: list[str], names: Iterable[str]) -> None:
    for name in names:
        if name and name not in target:
            target.append(name)


@dataclass
class _Scan:
    """Reading state for one thread of work (the main turn, or one sub-agent)."""

    work: Work = field(default_factory=Work)
    tools: dict[str, str] = field(default_factory=dict)  # tool_use id -> tool name
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # tool_use id -> its input
    usage: dict[str, Tokens] = field(default_factory=dict)  # message id -> its usage
    agent_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notified: set[str] = field(default_factory=set)  # tool_use ids / agent ids reported back
    async_agents: dict[str, str] = field(default_factory=dict)  # tool_use id -> agent id
    open_tools: set[str] = field(default_factory=set)
    last_was_error: bool = False
    interrupted: bool = False
    saw_assistant: bool = False


def _scan_entry(scan: _Scan, entry: dict[str, Any], *, private_prefix: str = "") -> None:
    work = scan.work
    kind = entry.get("type")
    if kind not in {"user", "assistant"}:
        return
    work.see(parse_time(entry.get("timestamp")))
    if kind == "assistant":
        _scan_assistant(scan, entry, private_prefix=private_prefix)
    else:
        _scan_user(scan, entry, private_prefix=private_prefix)


def _scan_assistant(scan: _Scan, entry: dict[str, Any], *, private_prefix: str) -> None:
    work = scan.work
    message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
    scan.saw_assistant = True
    model = message.get("model")
    if entry.get("isApiErrorMessage") or (entry.get("error") and model == SYNTHETIC_MODEL):
        status = entry.get("apiErrorStatus")
        text = _text_of(message.get("content")).strip() or "API error"
        work.issues.append(f"{private_prefix}{text}"[:MAX_ISSUE])
        work.private_issues.append(
            f"{private_prefix}API error {status}" if status else f"{private_prefix}API error"
        )
        scan.last_was_error = True
        return
    scan.last_was_error = False
    message_id = message.get("id") or entry.get("uuid") or ""
    tokens = _usage_tokens(message.get("usage"))
    known = scan.usage.get(message_id)
    if known is None:
        scan.usage[message_id] = tokens
        if isinstance(model, str) and model and model != SYNTHETIC_MODEL:
            work.models[model] += 1
    else:  # another block of the same message: keep the largest figures seen
        known.input = max(known.input, tokens.input)
        known.output = max(known.output, tokens.output)
        known.cache_read = max(known.cache_read, tokens.cache_read)
        known.cache_creation = max(known.cache_creation, tokens.cache_creation)
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        name = str(block.get("name") or "")
        tool_id = str(block.get("id") or "")
        tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
        scan.tools[tool_id] = name
        scan.open_tools.add(tool_id)
        if name in FILE_TOOLS:
            scan.inputs[tool_id] = tool_input
        if name in SKILL_TOOLS:
            skill = tool_input.get("skill") or tool_input.get("command")
            if isinstance(skill, str):
                _extend_unique(work.skills, [skill.strip().lstrip("/")])
        elif name in AGENT_TOOLS:
            agent = tool_input.get("subagent_type") or "general-purpose"
            if isinstance(agent, str):
                _extend_unique(work.agents, [agent.strip()])
            scan.agent_calls.append((tool_id, {"input": tool_input}))


def _scan_user(scan: _Scan, entry: dict[str, Any], *, private_prefix: str) -> None:
    work = scan.work
    content = _content(entry)
    text = _text_of(content)
    if text.lstrip().startswith(_INTERRUPTED):
        scan.interrupted = True
        work.issues.append(f"{private_prefix}Interrupted by the user")
        work.private_issues.append(f"{private_prefix}Interrupted by the user")
    if is_notification(entry):
        scan.notified.update(_NOTIFIED_TOOL.findall(text))
        scan.notified.update(_NOTIFIED_TASK.findall(text))
    if not _has_tool_result(content):
        return
    result = entry.get("toolUseResult")
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "tool_result":
            continue
        tool_id = str(block.get("tool_use_id") or "")
        scan.open_tools.discard(tool_id)
        tool = scan.tools.get(tool_id, "")
        if block.get("is_error"):
            label = tool or "Tool"
            if _INTERRUPTED in _result_text(block):
                scan.interrupted = True
            work.issues.append(f"{private_prefix}{label}: {_result_text(block)}"[:MAX_ISSUE])
            work.private_issues.append(f"{private_prefix}{label} failed")
            scan.last_was_error = True
            continue
        scan.last_was_error = False
        if tool in FILE_TOOLS:
            path, created, lines = None, False, 0
            if isinstance(result, dict):
                path, created, lines = _file_change(tool, result)
            if path is None:
                answer = _text_of(block.get("content")) or str(block.get("content") or "")
                tool_input = scan.inputs.get(tool_id, {})
                path, created, lines = _change_from_input(tool, tool_input, answer)
            if path:
                if created or path in work.created:
                    work.created.add(path)
                    work.edited.discard(path)
                else:
                    work.edited.add(path)
                work.lines_changed += lines
        elif tool in AGENT_TOOLS and isinstance(result, dict):
            for call_id, call in scan.agent_calls:
                if call_id == tool_id:
                    call["result"] = result
            if result.get("status") == "async_launched" or result.get("isAsync"):
                scan.async_agents[tool_id] = str(result.get("agentId") or "")


# --- sub-agents ------------------------------------------------------------------------------


def _subagent_files(transcript: Path, session_id: str, agent_id: str) -> Iterator[Path]:
    name = f"agent-{agent_id}.jsonl"
    yield transcript.parent / session_id / "subagents" / name  # 2.1 and later
    yield transcript.parent / transcript.stem / "subagents" / name
    yield transcript.parent / name  # 2.0.x


def _subagent_work(
    call: dict[str, Any], *, transcript: Path, session_id: str, depth: int
) -> Work | None:
    """The work of one sub-agent from its own transcript; ``None`` when there is none to read."""
    result = call.get("result") if isinstance(call.get("result"), dict) else {}
    agent_id = result.get("agentId")
    if not isinstance(agent_id, str) or not agent_id or depth > MAX_SUBAGENT_DEPTH:
        return None
    for path in _subagent_files(transcript, session_id, agent_id):
        if path.is_file():
            entries, _ = read_entries(path)
            scan = _Scan()
            agent = (call.get("input") or {}).get("subagent_type") or "sub-agent"
            for entry in entries:
                _scan_entry(scan, entry.data, private_prefix=f"{agent}: ")
            _add_subagents(scan, transcript=transcript, session_id=session_id, depth=depth + 1)
            scan.work.tokens = _sum_usage(scan)
            return scan.work
    return None


def _add_subagents(scan: _Scan, *, transcript: Path, session_id: str, depth: int) -> None:
    for _, call in scan.agent_calls:
        sub = _subagent_work(call, transcript=transcript, session_id=session_id, depth=depth)
        if sub is not None:
            scan.work.merge(sub)
            continue
        # No transcript of its own (older versions): the tool result's usage is all there is.
        result = call.get("result") if isinstance(call.get("result"), dict) else {}
        extra = _usage_tokens(result.get("usage"))
        if extra == Tokens() and _number(result.get("totalTokens")):
            extra = Tokens(output=_number(result.get("totalTokens")))
        scan.work.tokens.add(extra)


def _sum_usage(scan: _Scan) -> Tokens:
    total = Tokens()
    for tokens in scan.usage.values():
        total.add(tokens)
    total.add(scan.work.tokens)  # what merged sub-agents (or old tool results) brought
    return total


# --- turns -----------------------------------------------------------------------------------


def split_turns(entries: list[Entry]) -> list[list[Entry]]:
    """Group entries into turns, each starting at a prompt. Lines before the first prompt
    (the tail of a turn read earlier) are dropped."""
    turns: list[list[Entry]] = []
    for entry in entries:
        if is_prompt(entry.data):
            turns.append([entry])
        elif turns:
            turns[-1].append(entry)
    return turns


def summarise(
    turn: list[Entry],
    *,
    transcript: Path,
    session_id: str,
    fallback_model: str | None = None,
    notified: set[str] | None = None,
    last: bool = True,
) -> Turn:
    """One turn's summary. ``notified`` holds the ids of background agents that reported back
    anywhere in the transcript (a notification may arrive during a later turn); ``last`` says
    the turn is the newest, which is the only one that can still be in the middle of a tool."""
    head = turn[0].data
    scan = _Scan()
    side = _Scan(usage=scan.usage)  # old versions: sub-agent lines inside the session file
    for entry in turn:
        if entry.data.get("isSidechain"):
            _scan_entry(side, entry.data, private_prefix="sub-agent: ")
        else:
            _scan_entry(scan, entry.data)
    if side.work.first is not None:
        scan.work.merge(side.work)
    else:
        _add_subagents(scan, transcript=transcript, session_id=session_id, depth=1)
    scan.work.tokens = _sum_usage(scan)
    reported = scan.notified | (notified or set())
    pending = [
        tool_id
        for tool_id, agent_id in scan.async_agents.items()
        if tool_id not in reported and agent_id not in reported
    ]
    model = scan.work.models.most_common(1)[0][0] if scan.work.models else fallback_model
    return Turn(
        session_id=str(head.get("sessionId") or session_id),
        prompt_id=str(head.get("promptId") or head.get("uuid") or ""),
        prompt=prompt_text(head),
        offset=turn[0].offset,
        work=scan.work,
        model=model,
        success=not (scan.last_was_error or scan.interrupted),
        complete=not pending and not (last and scan.open_tools),
        cwd=head.get("cwd") if isinstance(head.get("cwd"), str) else None,
        git_branch=head.get("gitBranch") if isinstance(head.get("gitBranch"), str) else None,
        version=head.get("version") if isinstance(head.get("version"), str) else None,
    )


def notified_agents(entries: Iterable[Entry]) -> set[str]:
    """Tool-use and agent ids named by every ``<task-notification>`` in ``entries``."""
    ids: set[str] = set()
    for entry in entries:
        if entry.data.get("type") == "user" and is_notification(entry.data):
            text = _text_of(_content(entry.data))
            ids.update(_NOTIFIED_TOOL.findall(text))
            ids.update(_NOTIFIED_TASK.findall(text))
    return ids


def last_model(entries: Iterable[Entry]) -> str | None:
    """The model the session last used, for a turn that never got an answer (an API error)."""
    model = None
    for entry in entries:
        data = entry.data
        message = data.get("message")
        if data.get("type") == "assistant" and isinstance(message, dict):
            name = message.get("model")
            if isinstance(name, str) and name and name != SYNTHETIC_MODEL:
                model = name
        attachment = data.get("attachment")
        if isinstance(attachment, dict) and attachment.get("type") == "model":
            identity = attachment.get("identity")
            if isinstance(identity, dict) and isinstance(identity.get("modelId"), str):
                model = identity["modelId"]
    return model


def read_turns(transcript: Path, *, session_id: str, offset: int = 0) -> tuple[list[Turn], int]:
    """Every turn that starts at or after ``offset``, and the offset where the file was read to.

    Turns without any assistant line (local slash commands) did no work and are left out.
    """
    entries, end = read_entries(transcript, offset)
    fallback = last_model(entries)
    notified = notified_agents(entries)
    groups = [
        group
        for group in split_turns(entries)
        if any(e.data.get("type") == "assistant" for e in group)
    ]
    turns = [
        summarise(
            group,
            transcript=transcript,
            session_id=session_id,
            fallback_model=fallback,
            notified=notified,
            last=index == len(groups) - 1,
        )
        for index, group in enumerate(groups)
    ]
    return turns, end
