"""End to end: the real Claude Code CLI exporting OpenTelemetry to a live Perfsite.

The CLI (pinned in tests/integrations/client) runs offline against the scripted Messages API
stand-in, with telemetry on and the README's variables pointing its OTLP exporter at Perfsite,
once with ``http/protobuf`` and once with ``http/json``. Each turn must become one task with the
model, tokens and cost the CLI itself reported (``--output-format json``); with the
perfsite-recorder plugin installed too, the turn is still one record.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from records.models import TaskRecord
from tests.integrations import claude_cli
from tests.integrations.fake_anthropic import USAGE, Script, fake_anthropic, text, tool_use

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cli_home(tmp_path) -> Path:
    """A HOME without the plugin: telemetry alone."""
    reason = claude_cli.missing_reason()
    if reason:
        if os.environ.get(claude_cli.REQUIRE_ENV) == "1":
            pytest.fail(f"{claude_cli.REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    home = tmp_path / "home"
    home.mkdir()
    return home


def telemetry_env(url: str, token: str, protocol: str) -> dict[str, str]:
    """The README's "Send OpenTelemetry" variables for Claude Code, with short intervals."""
    return {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": url,
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {token}",
        "OTEL_LOG_USER_PROMPTS": "1",
        "OTEL_LOGS_EXPORT_INTERVAL": "500",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }


def claude(prompt_text, *, home, cwd, api, env, resume=None) -> dict:
    full = claude_cli.base_env(home, ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="test", **env)
    full.pop("DISABLE_TELEMETRY")  # the test harness's default; this test wants telemetry
    args = ["-p", prompt_text, "--output-format", "json", "--model", claude_cli.MODEL]
    args += ["--allowedTools", claude_cli.ALLOWED_TOOLS]
    if resume:
        args += ["--resume", resume]
    done = subprocess.run(
        [claude_cli.binary(), *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for(predicate, timeout=20.0):
    """The CLI flushes its exporters as it exits; the last request may still be in flight."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


SCRIPT = Script(
    turns={
        "OTEL-T1": [
            [tool_use("Bash", {"command": "exit 3", "description": "Run the checks"})],
            [text("The checks fail.")],
        ],
        "OTEL-T2": [[text("Nothing to change.")]],
    }
)


def assert_turn(record: TaskRecord, result: dict, calls: int, cost: float | None = None) -> None:
    """``cost``: what the turn cost, when ``total_cost_usd`` (a resumed session's running
    total) covers earlier turns too."""
    assert record.model.name == "Claude Sonnet 4.5"
    assert record.input_tokens == USAGE["input_tokens"] * calls == result["usage"]["input_tokens"]
    assert record.output_tokens == result["usage"]["output_tokens"]
    assert record.cache_read_tokens == result["usage"]["cache_read_input_tokens"]
    assert record.cache_creation_tokens == result["usage"]["cache_creation_input_tokens"]
    assert record.cost_usd == pytest.approx(
        result["total_cost_usd"] if cost is None else cost, rel=1e-6
    )
    assert record.cost_source == "given"
    assert record.session_id == result["session_id"]


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_each_turn_is_one_task_with_the_cli_s_model_tokens_and_cost(
    cli_home, tmp_path, live_server, protocol
):
    from records.recording.tokens import token_create

    _, token = token_create(name="laptop")
    env = telemetry_env(live_server.url, token, protocol)
    project = tmp_path / "project"
    project.mkdir()
    with fake_anthropic(SCRIPT) as api:
        first = claude("OTEL-T1 Run the checks", home=cli_home, cwd=project, api=api, env=env)
        assert wait_for(lambda: TaskRecord.objects.filter(cost_usd__gt=0).count() == 1)
        second = claude(
            "OTEL-T2 Fix the lint warnings",
            home=cli_home,
            cwd=project,
            api=api,
            env=env,
            resume=first["session_id"],
        )
        assert wait_for(lambda: TaskRecord.objects.filter(cost_usd__gt=0).count() == 2)
    records = list(TaskRecord.objects.order_by("recorded_at"))
    assert len(records) == 2
    one, two = records
    assert one.record_id.startswith(f"cc-{first['session_id']}-")
    assert one.description == "OTEL-T1 Run the checks" and one.source == "otlp"
    assert_turn(one, first, calls=2)
    assert one.issues == ["Bash: ShellError"]  # the CLI exports the error's type, not its text
    assert two.description == "OTEL-T2 Fix the lint warnings"
    # --resume: the CLI's total_cost_usd is the session's, both turns together.
    assert_turn(two, second, calls=1, cost=second["total_cost_usd"] - first["total_cost_usd"])
    assert one.cost_usd + two.cost_usd == pytest.approx(second["total_cost_usd"], rel=1e-6)


def test_with_the_plugin_installed_too_the_turn_is_one_record(claude_home, tmp_path, live_server):
    from records.recording.tokens import token_create

    _, token = token_create(name="laptop")  # one token for the hook and the exporter
    project = tmp_path / "project"
    project.mkdir()
    target = project / "notes.py"
    script = Script(
        turns={
            "BOTH": [
                [tool_use("Write", {"file_path": str(target), "content": "A = 1\nB = 2\n"})],
                [text("Wrote it.")],
            ]
        }
    )
    env = telemetry_env(live_server.url, token, "http/protobuf") | {
        "PERFSITE_URL": live_server.url,
        "PERFSITE_TOKEN": token,
        "PERFSITE_STATE_DIR": str(tmp_path / "state"),
    }
    with fake_anthropic(script) as api:
        result = claude(
            "BOTH Add the notes module", home=claude_home, cwd=project, api=api, env=env
        )

    def merged() -> bool:
        record = TaskRecord.objects.first()
        sources = {entry["source"] for entry in record.raw} if record else set()
        return sources == {"api", "otlp"}

    assert wait_for(merged)
    record = TaskRecord.objects.get()
    assert record.record_id.startswith(f"cc-{result['session_id']}-")
    assert record.files_modified == 1 and record.lines_changed == 2  # the hook's
    assert record.task_type == "coding"
    assert_turn(record, result, calls=2)  # the telemetry's exact cost
