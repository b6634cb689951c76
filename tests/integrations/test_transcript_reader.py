"""The transcript reader, on transcripts the real CLI wrote (fixtures/cli-2.1.332, made by the
end-to-end tests and trimmed by fixtures/trim.py) and on the shapes older versions wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from perfsite_recorder.transcript import is_prompt, prompt_text, read_entries, read_turns

from tests.integrations.conftest import FIXTURES

CLI = FIXTURES / "cli-2.1.332"
# Every model call of the stand-in API reports this usage (fake_anthropic.USAGE).
CALL = {"input": 100, "output": 20, "cache_read": 50, "cache_creation": 10}


def transcript(name: str) -> Path:
    (path,) = (CLI / name).glob("*.jsonl")
    return path


def turns_of(path: Path, offset: int = 0):
    turns, _ = read_turns(path, session_id=path.stem, offset=offset)
    return turns


def calls(n: int) -> dict[str, int]:
    return {key: value * n for key, value in CALL.items()}


def tokens(turn) -> dict[str, int]:
    t = turn.work.tokens
    return {
        "input": t.input,
        "output": t.output,
        "cache_read": t.cache_read,
        "cache_creation": t.cache_creation,
    }


# --- real transcripts ------------------------------------------------------------------------


def test_two_turns_of_a_resumed_session():
    path = transcript("two-turns-resumed")
    first, second = turns_of(path)
    assert first.prompt == "T1-NEW Implement the models and views module"
    assert first.session_id == second.session_id == path.stem
    assert first.prompt_id != second.prompt_id
    assert first.model == second.model == "claude-sonnet-4-5"
    assert [Path(p).name for p in sorted(first.work.created)] == ["models.py", "views.py"]
    assert first.work.edited == set() and first.work.lines_changed == 5
    assert tokens(first) == calls(2)  # two API messages, one written as three lines
    assert first.success and first.complete and first.work.issues == []
    assert 0 < first.duration < 30

    assert second.prompt == "T2-EDIT Fix the wrong default in the model and run the checks"
    assert [Path(p).name for p in second.work.edited] == ["models.py"]
    assert second.work.created == set() and second.work.lines_changed == 3
    assert second.work.issues == ["Bash: Exit code 3"]
    assert second.work.private_issues == ["Bash failed"]
    assert second.success  # the model went on after the failed command and finished the turn
    assert tokens(second) == calls(4)
    assert second.git_branch == "feature-x"


def test_reading_from_an_offset_reads_only_the_turns_after_it():
    path = transcript("two-turns-resumed")
    first, second = turns_of(path)
    entries, end = read_entries(path)
    assert end == path.stat().st_size
    assert [t.prompt_id for t in turns_of(path, second.offset)] == [second.prompt_id]
    assert turns_of(path, end) == []
    assert entries[0].offset <= first.offset < second.offset


def test_a_skill():
    (turn,) = turns_of(transcript("skill"))
    assert turn.work.skills == ["release-notes"]
    assert turn.files == set() and turn.work.agents == []
    # The skill's body comes back as an isMeta user line: part of the turn, not a new prompt.
    assert tokens(turn) == calls(2)


def test_a_background_sub_agent_counts_toward_the_turn_that_started_it():
    path = transcript("background-agent")
    (turn,) = turns_of(path)  # the agent's <task-notification> is not a new turn
    assert turn.work.agents == ["general-purpose"]
    assert [Path(p).name for p in turn.work.edited] == ["guide.md"]  # edited by the sub-agent
    assert turn.work.lines_changed == 3
    # Main agent: the Agent call, its first answer, its answer to the notification; the
    # sub-agent (its own transcript, in <session>/subagents/): Read, Edit, answer.
    assert tokens(turn) == calls(6)
    assert turn.complete


def test_a_turn_waits_while_its_background_agent_has_not_reported(tmp_path):
    source = transcript("background-agent")
    lines = source.read_text().splitlines(keepends=True)
    # Cut the session file where the main agent stopped the first time (the first Stop hook).
    cut = next(i for i, line in enumerate(lines) if '"stop_hook_summary"' in line)
    copy = tmp_path / source.name
    copy.write_text("".join(lines[: cut + 1]))
    shutil.copytree(source.parent / source.stem, tmp_path / source.stem)
    (turn,) = turns_of(copy)
    assert not turn.complete
    assert turn.work.agents == ["general-purpose"]


def test_an_api_error_is_an_issue_and_ends_the_turn_unsuccessfully():
    (turn,) = turns_of(transcript("api-error"))
    assert not turn.success
    assert len(turn.work.issues) == 1 and turn.work.issues[0].startswith("Request too large")
    assert turn.work.private_issues == ["API error 413"]
    assert turn.model == "claude-sonnet-4-5"  # no answer came: the session's model


def test_a_failed_command():
    (turn,) = turns_of(transcript("private-bash-failure"))
    assert turn.work.issues == ["Bash: Exit code 1"]
    assert turn.prompt == "PRIVATE-TURN Fix the crash in the invoice parser"


# --- older and other shapes ------------------------------------------------------------------

SESSION = "11111111-2222-3333-4444-555555555555"
T0 = "2025-06-01T10:00:0{}.000Z"


def line(kind: str, n: int, **fields) -> dict:
    return {
        "type": kind,
        "sessionId": SESSION,
        "uuid": f"u{n}",
        "timestamp": T0.format(n),
        **fields,
    }


def user(n: int, content, **fields) -> dict:
    return line("user", n, message={"role": "user", "content": content}, **fields)


def assistant(n: int, blocks, *, model="claude-sonnet-4-20250514", mid=None, usage=None, **fields):
    message = {
        "id": mid or f"msg{n}",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }
    return line("assistant", n, message=message, **fields)


def use(tool_id: str, name: str, **tool_input) -> dict:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def result(n: int, tool_id: str, text="ok", *, error=False, tool_result=None, **fields) -> dict:
    block = {"type": "tool_result", "tool_use_id": tool_id, "content": text}
    if error:
        block["is_error"] = True
    extra = {"toolUseResult": tool_result} if tool_result is not None else {}
    return user(n, [block], **extra, **fields)


def write(path: Path, entries: list[dict], *, tail: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + tail)
    return path


def test_a_task_tool_without_a_transcript_of_its_own_counts_its_reported_usage(tmp_path):
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "Review the parser"),
            assistant(1, [use("t1", "Task", subagent_type="code-reviewer", prompt="review")]),
            result(
                2,
                "t1",
                "looks fine",
                tool_result={
                    "status": "completed",
                    "totalTokens": 999,
                    "usage": {"input_tokens": 300, "output_tokens": 40},
                },
            ),
            assistant(3, [{"type": "text", "text": "Reviewed."}]),
        ],
    )
    (turn,) = turns_of(path)
    assert turn.work.agents == ["code-reviewer"]
    assert turn.work.tokens.input == 10 + 300 + 10
    assert turn.work.tokens.output == 5 + 40 + 5
    assert turn.complete and turn.success


def test_a_task_tool_with_a_transcript_in_the_project_folder(tmp_path):
    """Claude Code 2.0 kept sub-agent transcripts beside the session's, not in subagents/."""
    target = tmp_path / "README.md"
    write(
        tmp_path / "agent-abc123.jsonl",
        [
            user(0, "update the readme", isSidechain=True, agentId="abc123"),
            assistant(
                1, [use("s1", "Write", file_path=str(target), content="a\nb\n")], isSidechain=True
            ),
            result(2, "s1", "File created successfully at: README.md", isSidechain=True),
            assistant(3, [{"type": "text", "text": "done"}], isSidechain=True),
        ],
    )
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "Write the readme"),
            assistant(1, [use("t1", "Task", subagent_type="doc-writer", prompt="x")]),
            result(2, "t1", "done", tool_result={"status": "completed", "agentId": "abc123"}),
            assistant(3, [{"type": "text", "text": "Written."}]),
        ],
    )
    (turn,) = turns_of(path)
    assert turn.work.created == {str(target)}
    assert turn.work.lines_changed == 2
    assert turn.work.tokens.input == 4 * 10  # two messages of the turn, two of the agent


def test_sub_agent_lines_inside_the_session_file_are_counted_and_are_not_prompts(tmp_path):
    """Before separate files, sidechain lines were written into the session file itself."""
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "Fix the flaky test"),
            assistant(1, [use("t1", "Task", subagent_type="debugger", prompt="find it")]),
            user(2, "find it", isSidechain=True),
            assistant(
                3,
                [use("s1", "Edit", file_path="tests/test_x.py", old_string="a", new_string="b")],
                isSidechain=True,
            ),
            result(
                4,
                "s1",
                "updated",
                isSidechain=True,
                tool_result={"filePath": "tests/test_x.py", "oldString": "a", "newString": "b"},
            ),
            assistant(5, [{"type": "text", "text": "fixed"}], isSidechain=True),
            result(6, "t1", "fixed", tool_result={"status": "completed", "agentId": "zzz"}),
            assistant(7, [{"type": "text", "text": "The helper fixed it."}]),
        ],
    )
    (turn,) = turns_of(path)
    assert turn.work.agents == ["debugger"]
    assert turn.work.edited == {"tests/test_x.py"} and turn.work.lines_changed == 2
    assert turn.work.tokens.input == 4 * 10  # the turn's two messages and the agent's two


def test_old_result_shapes_multi_edit_notebook_and_old_skill_input(tmp_path):
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "Tidy the notebook and the module"),
            assistant(
                1,
                [
                    use("a", "MultiEdit", file_path="m.py", edits=[]),
                    use("b", "NotebookEdit", notebook_path="n.ipynb", new_source="x = 1\ny = 2"),
                    use("c", "Skill", command="pdf"),
                ],
            ),
            result(
                2,
                "a",
                tool_result={
                    "filePath": "m.py",
                    "structuredPatch": [{"lines": [" keep", "-old", "+new", "+more"]}],
                },
            ),
            result(3, "b", tool_result={"notebook_path": "n.ipynb", "new_source": "x = 1\ny = 2"}),
            result(4, "c", "Launching skill: pdf", tool_result={"success": True}),
            assistant(5, [{"type": "text", "text": "Done."}]),
        ],
    )
    (turn,) = turns_of(path)
    assert turn.work.edited == {"m.py", "n.ipynb"}
    assert turn.work.lines_changed == 3 + 2
    assert turn.work.skills == ["pdf"]


def test_an_edit_without_a_patch_counts_the_changed_lines(tmp_path):
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "Rename the constant"),
            assistant(1, [use("a", "Edit", file_path="c.py", old_string="x", new_string="y")]),
            result(
                2,
                "a",
                tool_result={
                    "filePath": "c.py",
                    "oldString": "one\nOLD = 1\nthree",
                    "newString": "one\nNEW = 1\nthree",
                },
            ),
            assistant(3, [{"type": "text", "text": "Renamed."}]),
        ],
    )
    (turn,) = turns_of(path)
    assert turn.work.lines_changed == 2  # one line out, one in; the context is not a change


def test_interruptions_commands_and_notifications_are_not_prompts(tmp_path):
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "<command-name>/model</command-name>\n<command-args></command-args>"),
            user(1, "<local-command-stdout>Set model to opus</local-command-stdout>"),
            user(2, [{"type": "text", "text": "Refactor the importer"}]),
            assistant(3, [use("a", "Bash", command="sleep 100")]),
            result(4, "a", "[Request interrupted by user for tool use]", error=True),
            user(5, [{"type": "text", "text": "[Request interrupted by user for tool use]"}]),
            user(6, "<task-notification><task-id>q</task-id></task-notification>"),
            user(7, "expanded skill body", isMeta=True),
        ],
        tail='{"type": "user", "message": {"role": "user", "content": "half a li',
    )
    entries, end = read_entries(path)
    assert end < path.stat().st_size  # the line still being written is left for later
    assert [prompt_text(e.data) for e in entries if is_prompt(e.data)] == [
        "/model",
        "Refactor the importer",
    ]
    (turn,) = turns_of(path)  # /model did no work: no turn
    assert turn.prompt == "Refactor the importer"
    assert not turn.success
    assert "Interrupted by the user" in turn.work.issues
    assert turn.model == "claude-sonnet-4-20250514"


def test_a_turn_stopped_in_the_middle_of_a_tool_is_not_complete(tmp_path):
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        [user(0, "Run the suite"), assistant(1, [use("a", "Bash", command="make test")])],
    )
    (turn,) = turns_of(path)
    assert not turn.complete
    more = write(
        tmp_path / f"{SESSION}.jsonl",
        [
            user(0, "Run the suite"),
            assistant(1, [use("a", "Bash", command="make test")]),
            user(2, "Never mind, explain the Makefile"),
            assistant(3, [{"type": "text", "text": "It has two targets."}]),
        ],
    )
    first, _ = turns_of(more)
    assert first.complete  # a newer prompt came: the old turn is over whatever it left open


def test_unknown_and_broken_lines_are_skipped(tmp_path):
    path = tmp_path / f"{SESSION}.jsonl"
    path.write_text(
        "not json\n"
        + json.dumps({"type": "cost-state", "totalCostUSD": 1})
        + "\n"
        + json.dumps([1, 2])
        + "\n"
        + json.dumps(user(0, "Explain the cache"))
        + "\n"
        + json.dumps(assistant(1, "not a list of blocks"))
        + "\n"
        + json.dumps({"type": "assistant", "message": "nonsense"})
        + "\n"
    )
    (turn,) = turns_of(path)
    assert turn.prompt == "Explain the cache"
    assert turn.work.tokens.input == 10
