"""SIGKILL during writes: every acknowledged record survives, and the rollups stay exact.

A writer through the Python API and HTTP clients through gunicorn record as fast as they can; the
writer, or the whole server (master and workers), is killed with SIGKILL at an arbitrary moment.
Afterwards every record that was acknowledged (a returned id, a 201) is stored, and the rollup
tables equal a rebuild from the records: a write is all or nothing, never half a record.
Runs on a SQLite file always, and on a fresh PostgreSQL database when DATABASE_URL names one.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support import live

pytestmark = pytest.mark.slow

KILL_AFTER = 60  # acknowledged records before the kill, which lands mid-stream
WAIT_SECONDS = 120

CHECK = """
import json
from io import StringIO
from django.core.management import call_command
from records.models import TaskRecord
from tests.records.test_rollups import snapshot, without_ids
before = without_ids(snapshot())
call_command("rebuild_rollups", stdout=StringIO())
exact = before == without_ids(snapshot())
ids = list(TaskRecord.objects.values_list("record_id", flat=True))
print(json.dumps({"ids": ids, "exact": exact}))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path) -> Iterator[dict[str, str]]:
    with live.backend_env(request.param, tmp_path, suffix="crash") as env:
        live.manage(env, "migrate", "--no-input")
        yield env


class Acks:
    """The ids a writer process prints, read as they come (a thread per process)."""

    def __init__(self, processes: list[subprocess.Popen]):
        self.ids: list[str] = []
        self.threads = [threading.Thread(target=self._read, args=(p,)) for p in processes]
        for thread in self.threads:
            thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.ids.append(line.decode().strip())

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.ids) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def all(self) -> list[str]:
        for thread in self.threads:
            thread.join(timeout=60)
        return [record_id for record_id in self.ids if record_id]


def stored_and_exact(env: dict[str, str]) -> tuple[set[str], bool]:
    result = json.loads(live.manage(env, "shell", "-c", CHECK).strip().splitlines()[-1])
    return set(result["ids"]), result["exact"]


def test_a_python_api_writer_killed_mid_write_loses_no_acknowledged_record(env):
    writer = live.start_script("record_until_killed.py", "crash", env=env)
    acks = Acks([writer])
    acks.wait_for(KILL_AFTER)
    live.kill_tree(writer)
    acked = acks.all()
    assert len(acked) >= KILL_AFTER, "the writer should have recorded before the kill"

    stored, exact = stored_and_exact(env)
    assert set(acked) <= stored
    assert len(stored) - len(acked) <= 1  # at most the one being committed at the kill
    assert exact, "rollups differ from a rebuild after the kill"


def test_gunicorn_killed_mid_request_loses_no_acknowledged_record(env, tmp_path):
    token = live.create_token(env)
    with live.gunicorn_process(env, workers=2, log=tmp_path / "gunicorn.log") as (url, server):
        clients = [
            live.start_script("post_until_killed.py", url, token, f"c{n}", env=env)
            for n in range(3)
        ]
        acks = Acks(clients)
        acks.wait_for(KILL_AFTER)
        live.kill_tree(server)
        acked = acks.all()
        for client in clients:
            client.wait(timeout=60)
    assert len(acked) >= KILL_AFTER, "the clients should have recorded before the kill"

    stored, exact = stored_and_exact(env)
    assert set(acked) <= stored
    assert len(stored) - len(acked) <= len(clients)  # committed, the 201 never sent
    assert exact, "rollups differ from a rebuild after the kill"
