"""docs/alerts.md's walk-through, for real: a migrated database (SQLite, and PostgreSQL when
DATABASE_URL names one), a rule added by add_alert_rule, ``check_alerts --every 1`` running as
a process, a bad streak recorded by another process; one signed webhook and one email arrive,
the dashboard shows the banner; recovery sends one "resolved"; SIGTERM stops the loop."""

from __future__ import annotations

import email
import signal
import subprocess
import sys
import time

import pytest

from tests.alerts.servers import smtp_server, webhook_server
from tests.support import live

pytestmark = pytest.mark.slow

SECRET = "walkthrough-secret"

RECORD_STREAK = """
from records.recorder import record_task_performance
for i in range({n}):
    record_task_performance(
        {{"task_type": "debugging", "description": "fix bug %d" % i,
          "overall_score": {score}, "success": {success}}},
        "GLM 4.6",
    )
"""

BANNER = """
from django.test import Client
html = Client().get("/").content.decode()
print("BANNER" if 'class="alert-banner"' in html and "GLM debugging" in html else "NO BANNER")
"""


def wait_for(condition, *, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("backend", live.BACKENDS)
def test_walkthrough(tmp_path, backend):
    with (
        live.backend_env(backend, tmp_path, suffix="alerts") as base,
        smtp_server() as (mailbox, smtp_port),
        webhook_server(secret=SECRET, answers=[200]) as (hook, url),
    ):
        env = base | {
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "DEFAULT_FROM_EMAIL": "perfsite@example.com",
            "PERFSITE_WEBHOOK_SECRET": SECRET,
            "PERFSITE_ALERT_BACKOFF": "0.1",
            "DJANGO_ALLOWED_HOSTS": "testserver,localhost",
        }
        live.manage(env, "migrate", "--no-input")
        added = live.manage(
            env, "add_alert_rule", "GLM debugging", "--metric", "pass_rate", "--below", "70",
            "--window-tasks", "5", "--min-tasks", "5", "--task-type", "debugging",
            "--model", "GLM 4.6", "--webhook", url, "--email", "team@example.com",
        )  # fmt: skip
        assert "Added alert rule 'GLM debugging'" in added
        checker = subprocess.Popen(
            [sys.executable, "manage.py", "check_alerts", "--every", "1"],
            cwd=live.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            live.manage(env, "shell", "-c", RECORD_STREAK.format(n=5, score=30, success=False))
            wait_for(lambda: hook.received and mailbox.messages)
            assert live.manage(env, "shell", "-c", BANNER).splitlines()[-1] == "BANNER"

            live.manage(env, "shell", "-c", RECORD_STREAK.format(n=5, score=95, success=True))
            wait_for(lambda: len(hook.received) == 2 and len(mailbox.messages) == 2)
            time.sleep(3)  # a few more checks: nothing more is sent
            assert live.manage(env, "shell", "-c", BANNER).splitlines()[-1] == "NO BANNER"
        finally:
            checker.send_signal(signal.SIGTERM)
            out, err = checker.communicate(timeout=60)

    assert checker.returncode == 0, err
    assert out.strip().endswith("Stopped.")
    assert [r["body"]["state"] for r in hook.received] == ["firing", "ok"]
    assert all(r["signature_ok"] for r in hook.received)
    assert hook.received[0]["body"]["text"].startswith("Perfsite alert FIRING: GLM debugging")
    subjects = [email.message_from_bytes(c)["Subject"] for _, _, c in mailbox.messages]
    assert subjects == ["[Perfsite] FIRING: GLM debugging", "[Perfsite] RESOLVED: GLM debugging"]
