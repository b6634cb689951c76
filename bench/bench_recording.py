"""Recording throughput: the Python API, the HTTP API (real gunicorn) and the record_task command.

    python bench/bench_recording.py                       # empty table, 600 records per way
    python bench/bench_recording.py --seed-records 0 20000 200000 --records 1000

For each table size it makes a fresh SQLite file (settings' WAL / busy timeout / IMMEDIATE),
migrates it, seeds it with ``manage.py seed_demo --records N``, and copies that file once per way of
recording, so each way starts from the same table:

- python: one process looping ``record_task_performance`` (the in-process API), timed in-loop;
- http: gunicorn with --workers W and C client processes posting concurrently (urllib, a new
  connection per request, as an orchestrator does), timed from the common start to the last reply;
- cli: one ``manage.py record_task FILE`` with a JSON list of all the tasks (one transaction),
  timed as a whole process (start-up included), plus a few one-task invocations (process cost).

Prints a table on stderr and the figures as JSON on stdout. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_env, copy_of, git_revision, machine, seed_database

from tests.support import live
from tests.support.post_records import task


def bench_python(directory: Path, records: int) -> dict:
    env = bench_env(directory)
    result = live.finish(
        live.start_script("record_in_process.py", str(records), "bench-py", "0", env=env)
    )
    assert not result["failures"], result["failures"][:3]
    return {
        "records": records,
        "seconds": result["seconds"],
        # CPU time of the recording loop: what one uncontended core would take (load-independent).
        "records_per_cpu_second": round(records / result["cpu_seconds"], 1),
    }


def bench_http(directory: Path, records: int, clients: int, workers: int) -> dict:
    env = bench_env(directory)
    token = live.create_token(env, "bench")
    per_client = records // clients
    with live.gunicorn(env, workers=workers, log=directory / "gunicorn.log") as url:
        start_at = time.time() + 1.5
        processes = [
            live.start_script(
                "post_records.py", url, token, str(per_client), f"bench-{n}", str(start_at),
                env=env,
            )
            for n in range(clients)
        ]  # fmt: skip
        results = [live.finish(p) for p in processes]
        finished = time.time()
    failures = [f for r in results for f in r["failures"]]
    assert not failures, failures[:3]
    return {
        "records": per_client * clients,
        "seconds": finished - start_at,
        "clients": clients,
        "workers": workers,
        "client_seconds": [round(r["seconds"], 2) for r in results],
    }


def bench_cli(directory: Path, records: int, single_calls: int) -> dict:
    env = bench_env(directory)
    rng = random.Random(7)
    tasks = [task("bench-cli", i, rng) for i in range(records)]
    path = directory / "tasks.json"
    path.write_text(json.dumps(tasks))
    started = time.perf_counter()
    out = live.manage(env, "record_task", str(path))
    seconds = time.perf_counter() - started
    assert len(out.split()) == records
    single = directory / "one.json"
    single.write_text(json.dumps(tasks[0] | {"description": "one task per process"}))
    started = time.perf_counter()
    for _ in range(single_calls):
        live.manage(env, "record_task", str(single))
    per_call = (time.perf_counter() - started) / single_calls if single_calls else None
    return {
        "records": records,
        "seconds": seconds,
        "single_task_calls": single_calls,
        "seconds_per_single_task_call": per_call,
    }


def bench_size(base: Path, size: int, args: argparse.Namespace) -> dict:
    template = base / f"table-{size}" / "template"
    seed_seconds = seed_database(template, size)
    ways = {
        "python": lambda: bench_python(copy_of(template, "python"), args.records),
        "http": lambda: bench_http(
            copy_of(template, "http"), args.records, args.clients, args.workers
        ),
        "cli": lambda: bench_cli(copy_of(template, "cli"), args.records, args.cli_calls),
    }
    results = {"table_records": size, "seed_seconds": round(seed_seconds, 1)}
    for way in args.ways:
        figures = ways[way]()
        figures["records_per_second"] = round(figures["records"] / figures["seconds"], 1)
        figures["seconds"] = round(figures["seconds"], 2)
        results[way] = figures
    return results


def table(results: list[dict], ways: list[str]) -> str:
    cpu = "python" in ways
    lines = [
        f"{'table size':>12} "
        + " ".join(f"{w + ' rec/s':>12}" for w in ways)
        + (f" {'python rec/CPU-s':>17}" if cpu else "")
    ]
    for row in results:
        cells = [f"{row[w]['records_per_second']:>12,.0f}" for w in ways]
        if cpu:
            cells.append(f"{row['python']['records_per_cpu_second']:>17,.0f}")
        lines.append(f"{row['table_records']:>12,} " + " ".join(cells))
    cli = [r["cli"] for r in results if "cli" in r and r["cli"]["seconds_per_single_task_call"]]
    if cli:
        per_call = ", ".join(f"{c['seconds_per_single_task_call']:.2f}s" for c in cli)
        lines.append(f"record_task with one task per process: {per_call} per call")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=600, help="Records per way (default 600).")
    parser.add_argument(
        "--seed-records",
        type=int,
        nargs="+",
        default=[0],
        metavar="N",
        help="Table sizes to measure at, seeded by seed_demo (default: 0, an empty table).",
    )
    parser.add_argument("--clients", type=int, default=4, help="HTTP client processes.")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers.")
    parser.add_argument("--cli-calls", type=int, default=5, help="One-task record_task runs.")
    parser.add_argument(
        "--ways", nargs="+", default=["python", "http", "cli"], choices=["python", "http", "cli"]
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary databases.")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="perfsite-bench-"))
    try:
        results = [bench_size(base, size, args) for size in args.seed_records]
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report = {
        "database": f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL, IMMEDIATE)",
        "machine": machine(),
        "git": git_revision(),
        "results": results,
    }
    print(table(results, args.ways), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
