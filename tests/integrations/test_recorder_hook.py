"""The plugin's hook without the CLI: the task it builds, the spool, the time budget, silence.

A small HTTP stand-in answers with the statuses a test scripts (Perfsite itself only answers
what a valid request earns); one test sends the built tasks through the server's own schema.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from perfsite_recorder import delivery, hook, tasks
from perfsite_recorder.transcript import Tokens, Turn, Work, read_turns

from records.recording.schema import clean_task
from records.rules import classification as server_classification
from tests.integrations.conftest import FIXTURES, PLUGIN, hanging_server, refused_port

CLI = FIXTURES / "cli-2.1.332"
HOOK = PLUGIN / "hooks" / "perfsite_hook.py"


def fixture(name: str) -> Path:
    (path,) = (CLI / name).glob("*.jsonl")
    return path


def turn(**work) -> Turn:
    return Turn(
        session_id="s-1",
        prompt_id="p-1",
        prompt="Add a health check endpoint",
        offset=0,
        work=Work(**work),
        model="claude-opus-4-1",
        success=True,
        complete=True,
    )


# --- the task --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "edited", "label"),
    [
        ({"src/app.py", "src/util.py"}, set(), "coding"),
        ({"src/app.py", "tests/test_app.py"}, set(), "coding"),
        (set(), {"README.md", "docs/setup.rst"}, "documentation"),
        ({"docs/new.md"}, {"CHANGELOG"}, "documentation"),
        (set(), {"tests/test_app.py"}, "testing"),
        ({"web/app.test.ts"}, set(), "testing"),
        (set(), {"src/app.py"}, None),
        ({"src/new.py"}, {"src/app.py"}, None),
        (set(), set(), None),
    ],
)
def test_what_the_turn_did_labels_it(created, edited, label):
    assert tasks.action_label(turn(created=created, edited=edited)) == label


def test_the_built_tasks_pass_the_servers_strict_schema():
    """Every task the reader builds from real transcripts is accepted as it is sent."""
    for folder in sorted(CLI.iterdir()):
        path = fixture(folder.name)
        for found in read_turns(path, session_id=path.stem)[0]:
            for send_prompts in (True, False):
                task = tasks.build_task(found, send_prompts=send_prompts)
                cleaned = clean_task(task)
                assert cleaned.record_id == task["record_id"]
                assert cleaned.model == "Claude Sonnet 4.5"


def test_the_task_carries_the_new_fields_under_their_names():
    path = fixture("two-turns-resumed")
    first = read_turns(path, session_id=path.stem)[0][0]
    task = tasks.build_task(first)
    assert task["description"] == first.prompt
    assert task["task_type"] == "coding"
    assert task["session_id"] == path.stem and task["prompt_id"] == first.prompt_id
    assert task["record_id"] == f"cc-{path.stem}-{first.prompt_id}"
    assert task["input_tokens"] == 200 and task["output_tokens"] == 40
    assert task["cache_read_tokens"] == 100 and task["cache_creation_tokens"] == 20
    assert task["files_modified"] == 2 and task["lines_changed"] == 5
    assert task["auto_generated"] is True and task["success"] is True
    assert task["recorded_at"].endswith("Z") and task["model_used"] == "claude-sonnet-4-5"


def test_without_prompts_nothing_typed_or_printed_leaves_the_machine():
    path = fixture("private-bash-failure")
    (found,) = read_turns(path, session_id=path.stem)[0]
    task = tasks.build_task(found, send_prompts=False)
    assert "description" not in task
    assert task["task_type"] == "debugging"  # "Fix the crash …", classified here
    assert task["issues_found"] == ["Bash failed"]
    assert "invoice" not in json.dumps(task) and "Exit code" not in json.dumps(task)
    assert tasks.send_prompts_enabled({"PERFSITE_SEND_PROMPTS": "0"}) is False
    assert tasks.send_prompts_enabled({"PERFSITE_SEND_PROMPTS": "false"}) is False
    assert tasks.send_prompts_enabled({}) is True


def test_the_classifier_is_the_servers_own_rules():
    """The copy used with PERFSITE_SEND_PROMPTS=0 must classify exactly as the server does:
    when records/rules/classification.py changes, copy it to the plugin."""
    copy = PLUGIN / "perfsite_recorder" / "classification.py"
    assert copy.read_text() == Path(server_classification.__file__).read_text()


def test_record_ids_follow_the_servers_rules():
    odd = Turn(
        session_id="a b/c?d#e",
        prompt_id="x" * 300,
        prompt="",
        offset=0,
        work=Work(),
        model=None,
        success=True,
        complete=True,
    )
    value = tasks.record_id(odd)
    assert value.startswith("cc-a-b-c-d-e-") and len(value) == 200
    assert not any(ch in value for ch in " /?#") and not value.startswith("idem-")
    task = tasks.build_task(odd)
    assert task["task_type"] == "general"  # no prompt text to send: one is still required
    clean_task(task)


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_project_and_branch_from_the_working_directory(tmp_path):
    plain = tmp_path / "scratch"
    plain.mkdir()
    assert tasks.project_and_branch(str(plain)) == ("scratch", None)

    repo = tmp_path / "checkout"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    assert tasks.project_and_branch(str(repo / "src")) == ("checkout", "main")
    git(repo, "remote", "add", "origin", "git@github.com:acme/billing-service.git")
    assert tasks.project_and_branch(str(repo / "src")) == ("billing-service", "main")

    git(
        repo,
        "-c",
        "user.email=a@b",
        "-c",
        "user.name=a",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    git(repo, "worktree", "add", "-q", "-b", "fix/login", str(tmp_path / "fix-login"))
    assert tasks.project_and_branch(str(tmp_path / "fix-login")) == ("billing-service", "fix/login")
    git(repo, "checkout", "-q", "--detach")
    assert tasks.project_and_branch(str(repo)) == ("billing-service", "HEAD")


def test_the_branch_the_turn_ran_on_wins_over_the_current_one(tmp_path):
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    found = turn(created={"a.py"})
    found.cwd, found.git_branch = str(repo), "feature/cart"
    task = tasks.build_task(found)
    assert (task["project"], task["git_branch"]) == ("shop", "feature/cart")
    found.cwd = str(tmp_path)  # not a repository: no branch, whatever the transcript says
    assert "git_branch" not in tasks.build_task(found)


# --- delivery --------------------------------------------------------------------------------


class _Stand_in(BaseHTTPRequestHandler):
    """Answers as Perfsite does: one task with its status, a list with 200 and one result per
    item. Each scripted status is one request's: an int (for a list, a 200/201 is every item's
    status, anything else the request's), or a list of per-item statuses. ``lists=False`` is an
    older Perfsite, which refuses lists with 400."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            server.received.append((self.headers.get("Authorization"), body))
            if isinstance(body, list) and not server.lists:
                return self._answer(400, {"errors": {"body": ["Must be a JSON object."]}})
            status = server.statuses.pop(0) if server.statuses else 201
        if not isinstance(body, list):
            return self._answer(status, {"record_id": body.get("record_id")})
        if isinstance(status, int) and status not in (200, 201):
            return self._answer(status, {"errors": {"database": ["scripted"]}})
        items = status if isinstance(status, list) else [status] * len(body)
        results = [
            {"index": i, "status": item, "record_id": task.get("record_id")}
            for i, (task, item) in enumerate(zip(body, items, strict=True))
        ]
        self._answer(200, {"results": results})

    def _answer(self, status: int, data: dict) -> None:
        answer = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@contextmanager
def stand_in(*statuses, lists: bool = True) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stand_in)
    server.received, server.statuses, server.lock = [], list(statuses), threading.Lock()
    server.lists = lists
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sent(server) -> list[dict]:
    """Every task the stand-in was sent, in order, whether alone or in lists."""
    tasks = []
    for _, body in server.received:
        tasks += body if isinstance(body, list) else [body]
    return tasks


def run_hook(
    transcript: Path, state: Path, url: str, event: str = "Stop", token: str = "tok", **extra
) -> float:
    environ = {"PERFSITE_URL": url, "PERFSITE_TOKEN": token, "PERFSITE_STATE_DIR": str(state)}
    payload = {
        "session_id": transcript.stem,
        "transcript_path": str(transcript),
        "hook_event_name": event,
        **extra,
    }
    started = time.monotonic()
    assert hook.main(io.BytesIO(json.dumps(payload).encode()), environ) == 0
    return time.monotonic() - started


def test_a_turn_is_sent_once_with_the_token(tmp_path):
    path = fixture("two-turns-resumed")
    with stand_in() as server:
        run_hook(path, tmp_path, server.url)
        run_hook(path, tmp_path, server.url, event="SessionEnd")
    ids = [task["record_id"] for task in sent(server)]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert {auth for auth, _ in server.received} == {"Bearer tok"}
    assert delivery.spooled(tmp_path) == []


def test_debug_mode_logs_what_each_run_did_and_how_long_it_took(tmp_path):
    path = fixture("skill")
    with stand_in() as server:
        environ = {"PERFSITE_URL": server.url, "PERFSITE_STATE_DIR": str(tmp_path)}
        environ["PERFSITE_DEBUG"] = "1"
        event = {"session_id": path.stem, "transcript_path": str(path), "hook_event_name": "Stop"}
        hook.main(io.BytesIO(json.dumps(event).encode()), environ)
    assert "Stop: 1 new, 1 sent, 0 left," in (tmp_path / "hook.log").read_text()


def test_tasks_wait_in_the_spool_and_go_oldest_first_when_the_server_is_back(tmp_path):
    older, newer = fixture("skill"), fixture("two-turns-resumed")
    with refused_port() as dead:
        run_hook(older, tmp_path, dead)
        run_hook(newer, tmp_path, dead)
    assert len(delivery.spooled(tmp_path)) == 3
    assert "not ready" in (tmp_path / "hook.log").read_text()
    with stand_in(503) as server:
        run_hook(newer, tmp_path, server.url)  # 503: kept, and no more tries this run
        assert len(server.received) == 1 and len(delivery.spooled(tmp_path)) == 3
        run_hook(newer, tmp_path, server.url)
    (_, batch) = server.received[1]  # the three in one list, oldest first
    assert [task["session_id"] for task in batch] == [older.stem, newer.stem, newer.stem]
    assert delivery.spooled(tmp_path) == []


def test_a_refused_task_is_logged_and_dropped_a_bad_token_is_kept(tmp_path):
    path = fixture("two-turns-resumed")
    with stand_in([400, 201]) as server:  # one list: the first item refused, the second stored
        run_hook(path, tmp_path, server.url)
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rejected] == [400]
    assert rejected[0]["task"]["session_id"] == path.stem
    assert delivery.spooled(tmp_path) == []
    (tmp_path / "sessions" / f"{path.stem}.json").unlink()  # read the turns again
    with stand_in(401) as server:
        run_hook(path, tmp_path, server.url)
    kept = delivery.spooled(tmp_path)  # 401: the token is wrong, not the tasks
    assert len(kept) == 2
    old = kept[0].with_name(f"{time.time_ns() - int(31 * 24 * 3600 * 1e9):020d}-old.json")
    kept[0].rename(old)
    with stand_in(401) as server:
        run_hook(path, tmp_path, server.url)
    assert delivery.spooled(tmp_path) == [kept[1]]  # a month of 401s: given up, logged
    assert [
        json.loads(x)["status"] for x in (tmp_path / "rejected.jsonl").read_text().splitlines()
    ] == [400, 401]


def test_a_list_item_the_server_could_not_store_yet_stays_for_the_next_run(tmp_path):
    path = fixture("two-turns-resumed")
    with stand_in([201, 503]) as server:
        run_hook(path, tmp_path, server.url)
        (kept,) = delivery.spooled(tmp_path)
        run_hook(path, tmp_path, server.url, event="SessionEnd")
    assert [len(body) for _, body in server.received] == [2, 1]
    assert server.received[1][1][0]["record_id"] in kept.name
    assert delivery.spooled(tmp_path) == []


def test_days_of_turns_with_the_server_down_go_in_lists_oldest_first_once(tmp_path, monkeypatch):
    monkeypatch.setattr(delivery, "BATCH_TASKS", 2)
    paths = [fixture("skill"), fixture("two-turns-resumed"), fixture("private-bash-failure")]
    with refused_port() as dead:
        for path in paths:  # several turns, the server down for each of them
            run_hook(path, tmp_path, dead)
    spooled = delivery.spooled(tmp_path)
    order = [json.loads(p.read_text())["record_id"] for p in spooled]
    assert len(order) == 4 and len(set(order)) == 4
    with stand_in() as server:
        run_hook(paths[-1], tmp_path, server.url)  # the server is back
        for path in paths:  # and every hook after that: nothing sent twice
            run_hook(path, tmp_path, server.url, event="SessionEnd")
    assert [len(body) for _, body in server.received] == [2, 2]
    assert [task["record_id"] for task in sent(server)] == order
    assert delivery.spooled(tmp_path) == []


def test_turns_spooled_while_perfsite_was_down_are_stored_oldest_first_once(
    perfsite, tmp_path, monkeypatch
):
    """The real server: its lists, its per-item answers and its record ids."""
    from records.models import TaskRecord

    monkeypatch.setattr(delivery, "BATCH_TASKS", 3)
    url, token = perfsite
    paths = [fixture("skill"), fixture("two-turns-resumed"), fixture("private-bash-failure")]
    with refused_port() as dead:
        for path in paths:
            run_hook(path, tmp_path, dead, token=token)
    order = [json.loads(p.read_text())["record_id"] for p in delivery.spooled(tmp_path)]
    assert len(order) == 4 and TaskRecord.objects.count() == 0
    run_hook(paths[0], tmp_path, url, token=token)
    assert delivery.spooled(tmp_path) == []
    assert list(TaskRecord.objects.order_by("id").values_list("record_id", flat=True)) == order
    for path in paths:  # every turn handed over again: the server has them all already
        (tmp_path / "sessions" / f"{path.stem}.json").unlink()
        run_hook(path, tmp_path, url, event="SessionEnd", token=token)
    assert TaskRecord.objects.count() == 4
    assert all(len(r.raw) == 1 and r.source == "api" for r in TaskRecord.objects.all())


def test_an_older_server_that_takes_no_lists_is_sent_one_task_per_request(tmp_path):
    path = fixture("two-turns-resumed")
    with stand_in(lists=False) as server:
        run_hook(path, tmp_path, server.url)
    bodies = [body for _, body in server.received]
    assert isinstance(bodies[0], list) and len(bodies) == 3  # one list refused, then one by one
    assert [body["record_id"] for body in bodies[1:]] == [task["record_id"] for task in bodies[0]]
    assert delivery.spooled(tmp_path) == [] and not (tmp_path / "rejected.jsonl").exists()


def test_a_hanging_server_costs_one_timeout_then_is_left_alone(tmp_path):
    path = fixture("two-turns-resumed")
    with hanging_server() as url:
        first = run_hook(path, tmp_path, url)
        second = run_hook(path, tmp_path, url, event="SessionEnd")
    assert first < hook.BUDGET + 0.5, first
    assert second < 0.5, second  # within AWAY_FOR of the timeout: no second wait
    assert len(delivery.spooled(tmp_path)) == 2


def test_a_turn_waits_for_its_running_background_agent_until_the_session_ends(tmp_path):
    path = fixture("background-agent")
    running = [{"id": "a1", "type": "subagent", "status": "running"}]
    with stand_in() as server:
        run_hook(path, tmp_path, server.url, background_tasks=running)
        assert server.received == []
        run_hook(path, tmp_path, server.url, event="SessionEnd", background_tasks=running)
    assert len(server.received) == 1


def test_not_configured_means_nothing_is_read_or_written(tmp_path):
    environ = {"PERFSITE_STATE_DIR": str(tmp_path / "state")}
    event = {"session_id": "x", "transcript_path": str(fixture("skill"))}
    assert hook.main(io.BytesIO(json.dumps(event).encode()), environ) == 0
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    "stdin",
    [
        b"",
        b"not json",
        b"[1, 2]",
        json.dumps({"session_id": "x", "transcript_path": "/nonexistent/x.jsonl"}).encode(),
        json.dumps({"session_id": "x", "transcript_path": 42}).encode(),
    ],
)
def test_the_script_is_silent_and_exits_zero_whatever_it_is_given(tmp_path, stdin):
    with refused_port() as dead:
        done = subprocess.run(
            [sys.executable, "-S", str(HOOK)],
            input=stdin,
            capture_output=True,
            env={"PATH": os.environ["PATH"], "PERFSITE_URL": dead, "HOME": str(tmp_path)},
            timeout=30,
        )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_an_unwritable_state_directory_is_not_the_agents_problem(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    event = {"session_id": "x", "transcript_path": str(fixture("skill"))}
    done = subprocess.run(
        [sys.executable, "-S", str(HOOK)],
        input=json.dumps(event).encode(),
        capture_output=True,
        env={
            "PATH": os.environ["PATH"],
            "PERFSITE_URL": "http://127.0.0.1:9",
            "PERFSITE_STATE_DIR": str(blocker / "state"),
        },
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_session_end_forgets_sessions_untouched_for_a_month(tmp_path):
    path = fixture("skill")
    with refused_port() as dead:
        run_hook(path, tmp_path, dead)
        old = tmp_path / "sessions" / "old-session.json"
        old.write_text("{}")
        month_ago = time.time() - 31 * 24 * 3600
        os.utime(old, (month_ago, month_ago))
        run_hook(path, tmp_path, dead, event="SessionEnd")
    assert sorted(p.name for p in (tmp_path / "sessions").iterdir()) == [f"{path.stem}.json"]
    assert len(delivery.spooled(tmp_path)) == 1  # the turn was handed over once


def test_the_state_directory_follows_xdg(tmp_path):
    assert delivery.state_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "perfsite"
    home = Path(os.path.expanduser("~"))
    assert delivery.state_dir({}) == home / ".local" / "state" / "perfsite"
    assert delivery.state_dir({"PERFSITE_STATE_DIR": "/x"}) == Path("/x")


def test_tokens_add_up():
    total = Tokens(1, 2, 3, 4)
    total.add(Tokens(10, 20, 30, 40))
    assert total == Tokens(11, 22, 33, 44)
