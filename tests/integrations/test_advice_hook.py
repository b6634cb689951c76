"""The plugin's UserPromptSubmit hook without the CLI, against a live Perfsite: the output
Claude Code reads, the cache per session and type, silence without the variable, with thin
evidence or with a server that does not answer, and the note the Stop hook's task reads."""

from __future__ import annotations

import io
import json

import pytest
from perfsite_recorder import advice, hook

from tests.factories import TaskRecordFactory
from tests.integrations.conftest import hanging_server, refused_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROMPT = "Fix the bug: the login crashes with a TypeError"


def history(project="widgets-checkout", count=12):
    for i in range(count):
        TaskRecordFactory(
            task_type="debugging",
            quality_score=90,
            skills=["root-cause-analysis"],
            project=project,
            minutes_ago=10 + i,
        )


def submit(tmp_path, url, *, prompt=PROMPT, session="s-1", advise="1", cwd=None):
    """Run the hook as Claude Code does on UserPromptSubmit; what it printed."""
    folder = cwd or tmp_path / "widgets-checkout"  # not a repository: the folder names it
    folder.mkdir(exist_ok=True)
    environ = {"PERFSITE_URL": url, "PERFSITE_STATE_DIR": str(tmp_path / "state")}
    # A loaded test machine may take more than the default 0.8 s for the server's first answer.
    environ["PERFSITE_ADVISE_TIMEOUT"] = "2.5"
    if advise is not None:
        environ["PERFSITE_ADVISE"] = advise
    event = {
        "hook_event_name": "UserPromptSubmit",
        "session_id": session,
        "cwd": str(folder),
        "prompt": prompt,
    }
    out = io.StringIO()
    assert hook.main(io.BytesIO(json.dumps(event).encode()), environ, out) == 0
    return out.getvalue()


def test_the_advice_is_the_turns_additional_context_and_is_cached(tmp_path, perfsite):
    history()
    printed = json.loads(submit(tmp_path, perfsite[0]))

    context = printed["hookSpecificOutput"]
    assert context["hookEventName"] == "UserPromptSubmit"
    assert context["additionalContext"].startswith(
        "Perfsite, from 12 debugging tasks in widgets-checkout:\n"
        "- skill root-cause-analysis: passed 100% of 12 tasks, mean quality 90"
    )
    # The same type again in the session: from the cache, even with the server gone.
    with refused_port() as dead:
        again = json.loads(submit(tmp_path, dead, prompt="Debug why the export fails"))
    assert again == printed
    # Noted per prompt, for the Stop hook's task.
    state = tmp_path / "state"
    assert advice.given(state, "s-1", f"  {PROMPT}\n") == context["additionalContext"]
    assert advice.given(state, "s-1", "Write the docs") is None
    assert advice.given(state, "another-session", PROMPT) is None


def test_without_the_variable_nothing_is_asked_printed_or_written(tmp_path, perfsite):
    history()
    with refused_port() as dead:
        pass
    for value in (None, "0", ""):
        assert submit(tmp_path, perfsite[0], advise=value) == ""
    assert not (tmp_path / "state").exists()
    assert submit(tmp_path, dead) == ""  # on, but the server is away: silent


def test_thin_evidence_or_another_project_gives_nothing(tmp_path, perfsite):
    history(count=3)
    history(project="elsewhere", count=20)
    assert submit(tmp_path, perfsite[0]) == ""
    assert submit(tmp_path, perfsite[0], prompt="Write the README for the module") == ""


def test_a_server_that_does_not_answer_is_left_alone_after_one_wait(tmp_path, perfsite):
    with hanging_server() as hang:
        assert submit(tmp_path, hang) == ""
        assert (tmp_path / "state" / "server-away").exists()
        assert submit(tmp_path, hang) == ""  # no second wait: the note says it is away
    assert "did not answer" in (tmp_path / "state" / "hook.log").read_text()
