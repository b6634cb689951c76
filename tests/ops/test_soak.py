"""Soak: 4 writers and a dashboard reader against a real gunicorn for a bounded time; nothing lost.

PERFSITE_SOAK_SECONDS sets the duration (default 60 s when CI=true, else 15 s). Runs on a SQLite
file always and on a fresh PostgreSQL database when DATABASE_URL points to PostgreSQL. The
requests per second each side managed are printed (``pytest -s``), not asserted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from dashboard.panels import PANELS
from tests.support import live

pytestmark = pytest.mark.slow

WRITERS = 4

# Run in a subprocess against the soaked database: rollups as kept, then rebuilt from records.
ROLLUPS_VS_REBUILD = """
import json
from records.models import AgentRollup, Rollup, SkillRollup, TypeRollup
from records.stats.rollups import rebuild_rollups

def snapshot():
    return {
        t.__name__: sorted(
            repr(sorted((k, v) for k, v in row.items() if k != "id"))
            for row in t.objects.values()
        )
        for t in (TypeRollup, Rollup, SkillRollup, AgentRollup)
    }

kept = snapshot()
rebuild_rollups()
print(json.dumps({"kept": kept, "rebuilt": snapshot()}))
"""


def soak_seconds() -> float:
    default = "60" if os.environ.get("CI", "").lower() == "true" else "15"
    return float(os.environ.get("PERFSITE_SOAK_SECONDS", default))


def reader_paths() -> list[str]:
    query = "?period=30d"
    return [
        "/",
        f"/{query}",
        *(f"/fragments/{panel}/" for panel in PANELS),
        *(f"/fragments/{panel}/{query}" for panel in PANELS),
        "/api/summary",
        "/api/summary?days=7",
    ]


@dataclass
class Site:
    env: dict[str, str]
    url: str
    token: str
    backend: str


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, tmp_path) -> Iterator[Site]:
    with ExitStack() as stack:
        env = stack.enter_context(live.backend_env(request.param, tmp_path, suffix="soak"))
        live.manage(env, "migrate", "--no-input")
        live.manage(env, "seed_demo", "--records", "300", "--seed", "7")
        token = live.create_token(env, "soak")
        url = stack.enter_context(live.gunicorn(env, workers=2, log=tmp_path / "gunicorn.log"))
        yield Site(env=env, url=url, token=token, backend=request.param)


def test_writers_and_a_reader_for_a_while_lose_nothing_and_never_fail(site):
    seconds = soak_seconds()
    before = live.stored_records(site.env)
    start_at = str(time.time() + 1.5)
    writers = [
        live.start_script(
            "soak_client.py", "write", site.url, site.token, f"soak-{n}", str(seconds), start_at,
            env=site.env,
        )
        for n in range(WRITERS)
    ]  # fmt: skip
    reader = live.start_script(
        "soak_client.py", "read", site.url, "-", "-", str(seconds), start_at, *reader_paths(),
        env=site.env,
    )  # fmt: skip
    timeout = seconds + 120
    written = [live.finish(p, timeout=timeout) for p in writers]
    read = live.finish(reader, timeout=timeout)

    assert [w["failures"] for w in written] == [[]] * WRITERS
    assert [w["returncode"] for w in written] == [0] * WRITERS
    assert read["failures"] == [] and read["returncode"] == 0
    assert all(w["requests"] > 0 for w in written)
    assert set(read["by_path"]) == set(reader_paths())  # every panel was read, and succeeded

    ids = [record_id for w in written for record_id in w["ids"]]
    assert len(ids) == sum(w["requests"] for w in written)  # every request got its 201
    assert len(set(ids)) == len(ids)
    stored = live.stored_records(site.env)
    new = {record_id: source for record_id, source in stored.items() if record_id not in before}
    assert new == dict.fromkeys(ids, "api")

    out = live.manage(site.env, "shell", "-c", ROLLUPS_VS_REBUILD)
    rollups = json.loads(out.strip().splitlines()[-1])
    assert rollups["kept"] == rollups["rebuilt"]
    assert rollups["kept"]["Rollup"]

    write_rate = len(ids) / max(w["seconds"] for w in written)
    read_rate = read["requests"] / read["seconds"]
    print(
        f"\nsoak {site.backend} {seconds:.0f}s: {WRITERS} writers {len(ids)} records "
        f"({write_rate:.1f} writes/s), reader {read['requests']} GETs ({read_rate:.1f} reads/s)"
    )
