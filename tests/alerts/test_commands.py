"""add_alert_rule and check_alerts from the command line: good input, bad input (a one-line
reason and a non-zero exit), and the loop's clean stop on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from records.alerts.models import AlertRule
from tests.support import live

pytestmark = pytest.mark.django_db


def add(*args: str) -> str:
    out = StringIO()
    call_command("add_alert_rule", *args, stdout=out)
    return out.getvalue()


def test_add_a_rule_with_every_option():
    out = add(
        "GLM debugging",
        "--metric",
        "pass_rate",
        "--below",
        "70",
        "--window-tasks",
        "20",
        "--task-type",
        "debugging",
        "--model",
        "glm-4.6",
        "--project",
        "shop",
        "--skill",
        "pytest",
        "--agent",
        "reviewer",
        "--origin",
        "auto",
        "--webhook",
        "https://hooks.example.com/a",
        "--webhook",
        "https://hooks.example.com/b",
        "--email",
        "team@example.com",
        "--min-tasks",
        "10",
    )

    rule = AlertRule.objects.get()
    assert out.startswith("Added alert rule 'GLM debugging'")
    assert "pass rate below 70.0% over the last 20 tasks" in out
    assert (rule.metric, rule.condition, rule.threshold) == ("pass_rate", "below", 70)
    assert (rule.window_kind, rule.window_size, rule.min_tasks) == ("tasks", 20, 10)
    assert rule.model == "GLM 4.6"  # normalised like recorded names
    assert (rule.task_type, rule.project, rule.skill, rule.agent, rule.origin) == (
        "debugging",
        "shop",
        "pytest",
        "reviewer",
        "auto",
    )
    assert rule.webhook_list == ["https://hooks.example.com/a", "https://hooks.example.com/b"]
    assert rule.email_list == ["team@example.com"]
    assert rule.enabled and rule.state == "ok"


def test_add_a_drop_rule_over_hours():
    add("cost", "--metric", "cost_per_task", "--drop", "0.5", "--window-hours", "24")

    rule = AlertRule.objects.get()
    assert (rule.condition, rule.threshold, rule.window_kind, rule.window_size) == (
        "drop",
        0.5,
        "hours",
        24,
    )


RULE = ["x", "--metric", "pass_rate"]
BAD = [
    (["x", "--below", "70", "--window-tasks", "5"], "--metric"),
    ([*RULE, "--window-tasks", "5"], "--below"),
    ([*RULE, "--below", "7", "--drop", "5", "--window-tasks", "5"], "not allowed"),
    ([*RULE, "--below", "70"], "--window-tasks"),
    (["x", "--metric", "speed", "--below", "70", "--window-tasks", "5"], "invalid choice"),
    ([*RULE, "--below", "70", "--window-tasks", "0"], "--window-tasks"),
    ([*RULE, "--below", "abc", "--window-tasks", "5"], "--below"),
    ([*RULE, "--below", "170", "--window-tasks", "5"], "threshold"),
    ([*RULE, "--drop", "-5", "--window-tasks", "5"], "greater than 0"),
    ([*RULE, "--below", "7", "--window-tasks", "99999"], "window_size"),
    ([*RULE, "--below", "7", "--window-hours", "5", "--task-type", "x"], "--task-type"),
    ([*RULE, "--below", "7", "--window-hours", "5", "--webhook", "ftp://a"], "webhooks"),
    ([*RULE, "--below", "7", "--window-hours", "5", "--email", "nobody"], "emails"),
    ([*RULE, "--below", "7", "--window-hours", "5", "--origin", "robot"], "--origin"),
    ([" ", "--metric", "pass_rate", "--below", "7", "--window-hours", "5"], "needs a name"),
]


@pytest.mark.parametrize(("args", "named"), BAD)
def test_bad_input_is_refused_with_a_reason_and_nothing_stored(args, named):
    with pytest.raises(CommandError) as error:
        add(*args)

    assert named in str(error.value)
    assert "\n" not in str(error.value).strip()
    assert AlertRule.objects.count() == 0


def test_a_name_already_taken_is_refused():
    add("same", "--metric", "pass_rate", "--below", "70", "--window-tasks", "5")

    with pytest.raises(CommandError, match="exists already"):
        add("same", "--metric", "mean_quality", "--below", "50", "--window-tasks", "5")
    assert AlertRule.objects.get().metric == "pass_rate"


def test_check_alerts_every_must_be_a_second_or_more():
    with pytest.raises(CommandError, match="--every"):
        call_command("check_alerts", "--every", "0")


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_the_loop_stops_cleanly_on_a_signal(tmp_path, how):
    env = live.sqlite_env(tmp_path)
    live.manage(env, "migrate", "--no-input")
    live.manage(env, "add_alert_rule", "r", "--metric", "pass_rate", "--below", "70",
                "--window-tasks", "5")  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "manage.py", "check_alerts", "--every", "30"],
        cwd=live.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "every 30 s" in process.stdout.readline()
        assert process.stdout.readline().startswith("Checked 1 rule")
        process.send_signal(how)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.strip().endswith("Stopped.")


@pytest.mark.slow
def test_bad_input_from_the_shell_exits_non_zero_with_one_line(tmp_path):
    env = live.sqlite_env(tmp_path)
    live.manage(env, "migrate", "--no-input")
    done = subprocess.run(
        [sys.executable, "manage.py", "add_alert_rule", "r", "--metric", "pass_rate",
         "--below", "170", "--window-tasks", "5"],
        cwd=live.ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "CommandError: threshold: Pass rate, quality and performance run from 0 to 100."
    ]
