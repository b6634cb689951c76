"""End to end: the real Claude Code CLI, the plugin installed from this checkout, a live Perfsite.

Each test scripts what the (stand-in) model does, runs ``claude -p`` as a user would, and checks
the TaskRecord rows the plugin's hook stored. The new fields (session, project, branch, tokens)
are in the record's raw payload until the server stores them in columns.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from records.models import TaskRecord
from tests.integrations import claude_cli
from tests.integrations.conftest import PLUGIN, hanging_server, refused_port
from tests.integrations.fake_anthropic import (
    USAGE,
    Script,
    api_error,
    fake_anthropic,
    text,
    tool_use,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HOOK = PLUGIN / "hooks" / "perfsite_hook.py"


def payload(record: TaskRecord) -> dict:
    """What the hook sent (the raw payload the API kept)."""
    assert len(record.raw) == 1, record.raw  # stored once, never merged with a second copy
    return record.raw[0]["payload"]


def tokens(calls: int) -> dict[str, int]:
    return {
        "input_tokens": USAGE["input_tokens"] * calls,
        "output_tokens": USAGE["output_tokens"] * calls,
        "cache_read_tokens": USAGE["cache_read_input_tokens"] * calls,
        "cache_creation_tokens": USAGE["cache_creation_input_tokens"] * calls,
    }


def run(prompt_text, *, claude_home, project, api, perfsite, state, **kwargs):
    url, token = perfsite
    kwargs.setdefault("perfsite_url", url)
    return claude_cli.prompt(
        prompt_text,
        home=claude_home,
        cwd=project,
        api_url=api.url,
        token=token,
        state_dir=state,
        **kwargs,
    )


def test_new_files_then_a_resumed_turn_with_an_edit_and_a_failing_command(
    claude_home, project, perfsite, tmp_path
):
    models, views = project / "app" / "models.py", project / "app" / "views.py"
    script = Script(
        turns={
            "T1-NEW": [
                [
                    text("Writing both files."),
                    tool_use(
                        "Write", {"file_path": str(models), "content": "A = 1\nB = 2\nC = 3\n"}
                    ),
                    tool_use("Write", {"file_path": str(views), "content": "def v():\n    pass\n"}),
                ],
                [text("Created the models and the views.")],
            ],
            "T2-EDIT": [
                [tool_use("Read", {"file_path": str(models)})],
                [
                    tool_use(
                        "Edit",
                        {
                            "file_path": str(models),
                            "old_string": "B = 2",
                            "new_string": "B = 20\nD = 4",
                        },
                    )
                ],
                [tool_use("Bash", {"command": "exit 3", "description": "Run the checks"})],
                [text("Fixed the default; the checks fail.")],
            ],
        }
    )
    state = tmp_path / "state"
    with fake_anthropic(script) as api:
        first = run(
            "T1-NEW Implement the models and views module",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=state,
        )
        assert first.returncode == 0, first.stderr
        assert models.read_text() == "A = 1\nB = 2\nC = 3\n"
        record = TaskRecord.objects.get()
        sent = payload(record)
        assert record.description == "T1-NEW Implement the models and views module"
        assert record.task_type == "coding"  # only new code files: coding
        assert record.files_modified == 2
        assert record.lines_changed == 5
        assert record.model.name == "Claude Sonnet 4.5"
        assert record.success is True and record.issues == []
        assert record.auto_generated is True and record.source == "api"
        assert record.duration_seconds is not None and 0 < record.duration_seconds < 60
        assert sent["session_id"] == first.session_id
        assert sent["project"] == "widgets" and sent["git_branch"] == "feature-x"
        assert {k: sent[k] for k in tokens(2)} == tokens(2)
        assert record.record_id == f"cc-{first.session_id}-{sent['prompt_id']}"
        # The server stores them in typed columns, and prices the tokens (genai-prices).
        assert (record.session_id, record.project, record.git_branch) == (
            first.session_id,
            "widgets",
            "feature-x",
        )
        assert {k: getattr(record, k) for k in tokens(2)} == tokens(2)
        assert record.cost_usd is not None and record.cost_usd > 0
        assert record.cost_source.startswith("genai-prices")

        second = run(
            "T2-EDIT Fix the wrong default in the model and run the checks",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=state,
            resume=first.session_id,
        )
        assert second.returncode == 0, second.stderr
        assert second.session_id == first.session_id
    assert models.read_text() == "A = 1\nB = 20\nD = 4\nC = 3\n"
    records = list(TaskRecord.objects.order_by("recorded_at"))
    assert len(records) == 2
    assert records[0].record_id == record.record_id and len(records[0].raw) == 1  # not re-sent
    edit = records[1]
    sent = payload(edit)
    assert edit.task_type == "debugging"  # an edit of existing code: the prompt decides
    assert edit.files_modified == 1 and edit.lines_changed == 3
    assert edit.issues == ["Bash: Exit code 3"]
    assert edit.success is True  # the turn went on after the failed command and finished
    assert sent["session_id"] == first.session_id
    assert {k: sent[k] for k in tokens(4)} == tokens(4)


def test_a_skill_turn_records_the_skill(claude_home, project, perfsite, tmp_path):
    skill = project / ".claude" / "skills" / "release-notes"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: release-notes\ndescription: Writes release notes.\n---\nList the changes.\n"
    )
    script = Script(
        turns={
            "SKILL-TURN": [
                [tool_use("Skill", {"skill": "release-notes"})],
                [text("Here are the notes.")],
            ]
        }
    )
    with fake_anthropic(script) as api:
        done = run(
            "SKILL-TURN Summarise what changed this week",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=tmp_path / "state",
        )
    assert done.returncode == 0, done.stderr
    record = TaskRecord.objects.get()
    assert list(record.skills.values_list("name", flat=True)) == ["release-notes"]
    assert record.files_modified == 0
    assert payload(record)["input_tokens"] == tokens(2)["input_tokens"]


def test_a_sub_agent_that_edits_a_file_counts_toward_the_turn(
    claude_home, project, perfsite, tmp_path
):
    guide = project / "docs" / "guide.md"
    guide.parent.mkdir()
    guide.write_text("# Guide\n\nOld step.\n")
    script = Script(
        turns={
            "AGENT-TURN": [
                [
                    tool_use(
                        "Agent",
                        {
                            "description": "Update the guide",
                            "prompt": "SUB-TURN Replace the old step in docs/guide.md",
                            "subagent_type": "general-purpose",
                        },
                    )
                ],
                [text("A helper is updating the guide.")],
            ],
            "SUB-TURN": [
                [tool_use("Read", {"file_path": str(guide)})],
                [
                    tool_use(
                        "Edit",
                        {
                            "file_path": str(guide),
                            "old_string": "Old step.",
                            "new_string": "New step.\nAnd another.",
                        },
                    )
                ],
                [text("Guide updated.")],
            ],
        }
    )
    with fake_anthropic(script) as api:
        done = run(
            "AGENT-TURN Update the guide through a helper",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=tmp_path / "state",
        )
        model_calls = sum(1 for r in api.requests if r["tools"])
    assert done.returncode == 0, done.stderr
    assert guide.read_text() == "# Guide\n\nNew step.\nAnd another.\n"
    record = TaskRecord.objects.get()  # one turn, though the agent's report woke the main agent
    sent = payload(record)
    assert list(record.agents.values_list("name", flat=True)) == ["general-purpose"]
    assert record.files_modified == 1 and record.lines_changed == 3
    assert record.task_type == "documentation"  # only a doc was edited
    # The main agent's calls and the sub-agent's three, all in one turn.
    assert model_calls >= 5
    assert {k: sent[k] for k in tokens(model_calls)} == tokens(model_calls)


def test_an_api_error_is_an_issue_and_not_a_success(claude_home, project, perfsite, tmp_path):
    script = Script(turns={"ERROR-TURN": [[api_error(413, "request too large")]]})
    with fake_anthropic(script) as api:
        done = run(
            "ERROR-TURN Analyse the logs",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=tmp_path / "state",
        )
    assert done.result.get("is_error") is True
    record = TaskRecord.objects.get()
    assert record.success is False
    assert len(record.issues) == 1 and "Request too large" in record.issues[0]
    assert record.model.name == "Claude Sonnet 4.5"  # from the session, though no answer came


def test_private_mode_sends_no_prompt_text(claude_home, project, perfsite, tmp_path):
    script = Script(
        turns={
            "PRIVATE-TURN": [
                [
                    tool_use(
                        "Bash", {"command": "echo secret-output >&2; exit 1", "description": "x"}
                    )
                ],
                [text("It still crashes.")],
            ]
        }
    )
    with fake_anthropic(script) as api:
        done = run(
            "PRIVATE-TURN Fix the crash in the invoice parser",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=tmp_path / "state",
            extra_env={"PERFSITE_SEND_PROMPTS": "0"},
        )
    assert done.returncode == 0, done.stderr
    record = TaskRecord.objects.get()
    sent = payload(record)
    assert "description" not in sent and record.description == ""
    assert record.task_type == "debugging"  # classified on the agent's host, same rules
    assert record.issues == ["Bash failed"]
    assert "secret" not in json.dumps(sent) and "invoice" not in json.dumps(sent)


def test_a_turn_run_while_the_server_is_down_is_sent_with_the_next_one_once(
    claude_home, project, perfsite, tmp_path
):
    state = tmp_path / "state"
    script = Script(
        turns={
            "DOWN-TURN": [[text("Answered while Perfsite was down.")]],
            "BACK-TURN": [[text("Answered with Perfsite back.")]],
        }
    )
    with fake_anthropic(script) as api:
        with refused_port() as dead:
            first = run(
                "DOWN-TURN Explain the build",
                claude_home=claude_home,
                project=project,
                api=api,
                perfsite=perfsite,
                state=state,
                perfsite_url=dead,
            )
        assert first.returncode == 0, first.stderr
        assert TaskRecord.objects.count() == 0
        spooled = sorted((state / "spool").iterdir())
        assert len(spooled) == 1 and first.session_id in spooled[0].name
        assert (state / "hook.log").exists()

        second = run(
            "BACK-TURN Explain the tests",
            claude_home=claude_home,
            project=project,
            api=api,
            perfsite=perfsite,
            state=state,
            resume=first.session_id,
        )
    assert second.returncode == 0, second.stderr
    assert list((state / "spool").iterdir()) == []
    records = list(TaskRecord.objects.order_by("recorded_at"))
    assert [r.description for r in records] == [
        "DOWN-TURN Explain the build",
        "BACK-TURN Explain the tests",
    ]
    # The hook fires again (Stop and SessionEnd twice over): still one record per turn.
    transcript = claude_cli.transcript_path(claude_home, first.session_id)
    event = {
        "session_id": first.session_id,
        "transcript_path": str(transcript),
        "cwd": str(project),
        "hook_event_name": "SessionEnd",
    }
    for _ in range(2):
        subprocess.run(
            [sys.executable, str(HOOK)],
            input=json.dumps(event).encode(),
            env={
                **claude_cli.base_env(claude_home),
                "PERFSITE_URL": perfsite[0],
                "PERFSITE_TOKEN": perfsite[1],
                "PERFSITE_STATE_DIR": str(state),
            },
            check=True,
            timeout=30,
        )
    (state / "sessions" / f"{first.session_id}.json").unlink()  # forget what was sent
    subprocess.run(
        [sys.executable, str(HOOK)],
        input=json.dumps(event).encode(),
        env={
            **claude_cli.base_env(claude_home),
            "PERFSITE_URL": perfsite[0],
            "PERFSITE_TOKEN": perfsite[1],
            "PERFSITE_STATE_DIR": str(state),
        },
        check=True,
        timeout=30,
    )
    assert TaskRecord.objects.count() == 2  # the server knew both record ids: nothing twice
    assert all(len(r.raw) == 1 for r in TaskRecord.objects.all())


def _hook_ms(claude_home, project, perfsite, tmp_path, *, url: str, label: str):
    """Stop hook milliseconds (as Claude Code measured them) and ``claude -p`` seconds, for
    three turns. Each turn starts without the "server away" note a timeout leaves, so each one
    pays the full wait: the worst case, not the quieter turns that follow it."""
    script = Script(turns={label: [[text("ok")]]})
    state = tmp_path / label
    hook_ms, wall = [], []
    with fake_anthropic(script) as api:
        for attempt in range(3):
            (state / "server-away").unlink(missing_ok=True)
            done = run(
                f"{label} Explain attempt {attempt}",
                claude_home=claude_home,
                project=project,
                api=api,
                perfsite=perfsite,
                state=state,
                perfsite_url=url,
            )
            assert done.returncode == 0, done.stderr
            hook_ms += claude_cli.stop_hook_durations(
                claude_cli.transcript_path(claude_home, done.session_id)
            )
            wall.append(done.seconds)
    return {
        "hook_ms_median": statistics.median(hook_ms),
        "hook_ms_max": max(hook_ms),
        "claude_s_median": round(statistics.median(wall), 2),
    }


def test_the_hook_adds_at_most_two_seconds_with_the_server_down_or_hanging(
    claude_home, project, perfsite, tmp_path, record_property
):
    up = _hook_ms(claude_home, project, perfsite, tmp_path, url=perfsite[0], label="UP")
    with refused_port() as dead:
        down = _hook_ms(claude_home, project, perfsite, tmp_path, url=dead, label="DOWN")
    with hanging_server() as hang:
        hung = _hook_ms(claude_home, project, perfsite, tmp_path, url=hang, label="HANG")
    figures = {"up": up, "down": down, "hanging": hung}
    record_property("timings", figures)
    print(f"\nperfsite-recorder timings (3 turns each): {figures}")
    assert TaskRecord.objects.count() == 3  # only the turns run with the server up
    assert down["hook_ms_median"] - up["hook_ms_median"] < 2000, figures
    assert hung["hook_ms_median"] - up["hook_ms_median"] < 2000, figures
    assert len(list((tmp_path / "HANG" / "spool").iterdir())) == 3  # kept for later, not lost
