"""Recording throughput and cost per task: the Python API, the HTTP API one task per request
(real gunicorn), lists of 1,000 tasks per request, and the record_task command.

    python bench/bench_recording.py                       # empty table, 600 records per way
    python bench/bench_recording.py --seed-records 2000 200000 --records 1000
    python bench/bench_recording.py --seed-records 2000 1000000 --ways python batch
    python bench/bench_recording.py --database-url postgres://postgres@127.0.0.1:5432/perfsite_bench
    python bench/bench_recording.py --seed-records 2000 1000000 --reuse-seeds /tmp/pb  # kept seeds

For each table size it makes a fresh database — a SQLite file (settings' WAL / busy timeout /
IMMEDIATE), or with ``--database-url`` (default: DATABASE_URL) a new PostgreSQL database on that
server, dropped afterwards — migrates it, seeds it with ``manage.py seed_demo --records N``, and
copies it once per way of recording (PostgreSQL: ``CREATE DATABASE … TEMPLATE``), so each way
starts from the same table. ``--reuse-seeds DIR`` takes the seed of a size from a
``bench_panels.py --workdir DIR --keep`` run instead (migrated first; only copies are written):

- python: one process looping ``record_task_performance`` (the in-process API), timed in-loop;
  also the milliseconds per task (wall and CPU of the loop): the cost of recording one task;
- http: gunicorn with --workers W and C client processes posting one task per request
  concurrently (urllib, a new connection per request, as an orchestrator does), timed from the
  common start to the last reply;
- batch: the same gunicorn, one client posting ``--batches`` lists of ``--batch-size`` (1,000)
  tasks one after another (bodies encoded before the clock starts): tasks per second over all of
  them, and the p50 of one list's request; then the same lists through Django's test Client in
  one process (tests/support/batch_in_process.py), whose CPU time plus that of its PostgreSQL
  server process is the load-independent cost: tasks per CPU-second; then ``--batch-clients``
  (2) clients posting as many lists again at once: the throughput of several senders, where one
  list's validation overlaps another's database work;
- cli: one ``manage.py record_task FILE`` with a JSON list of all the tasks (one transaction),
  timed as a whole process (start-up included), plus a few one-task invocations (process cost).

Prints a table on stderr and the figures as JSON on stdout, with the ratios of the largest table
to the smallest. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchDatabase,
    Databases,
    add_database_url,
    check_database_url,
    checkpoint,
    count_records,
    git_revision,
    machine,
    seed,
)

from tests.support import live
from tests.support.post_records import task


def bench_python(db: BenchDatabase, records: int) -> dict:
    result = live.finish(
        live.start_script("record_in_process.py", str(records), "bench-py", "0", env=db.env)
    )
    assert not result["failures"], result["failures"][:3]
    return {
        "records": records,
        "seconds": result["seconds"],
        "ms_per_task": round(result["seconds"] * 1000 / records, 2),
        "cpu_ms_per_task": round(result["cpu_seconds"] * 1000 / records, 2),
        # CPU time of the recording loop: what one uncontended core would take (load-independent).
        "records_per_cpu_second": round(records / result["cpu_seconds"], 1),
    }


def bench_http(db: BenchDatabase, records: int, clients: int, workers: int) -> dict:
    token = live.create_token(db.env, "bench")
    per_client = records // clients
    with live.gunicorn(db.env, workers=workers, log=db.directory / "gunicorn.log") as url:
        start_at = time.time() + 1.5
        processes = [
            live.start_script(
                "post_records.py", url, token, str(per_client), f"bench-{n}", str(start_at),
                env=db.env,
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


def _post_list(url: str, body: bytes, headers: dict, size: int) -> float:
    """POST one list; the seconds its request took (every task must be created)."""
    request = urllib.request.Request(f"{url}/api/records", data=body, headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.load(response)
    assert answer["created"] == size, answer["results"][:3]
    return time.perf_counter() - started


def bench_batch(db: BenchDatabase, batches: int, size: int, workers: int, clients: int) -> dict:
    """``batches`` lists of ``size`` tasks, posted one after another to gunicorn; then, with
    ``clients`` > 1, as many more lists posted by that many clients at once (threads, one list
    in flight each): the throughput a backfill with several senders gets, where one list's
    validation overlaps another's database work."""
    token = live.create_token(db.env, "bench-batch")
    rng = random.Random(11)
    together = batches if clients > 1 else 0
    bodies = [
        json.dumps([task(f"bench-batch-{b}", i, rng) for i in range(size)]).encode()
        for b in range(1 + batches + together)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    seconds, concurrent = [], None
    with live.gunicorn(db.env, workers=workers, log=db.directory / "gunicorn.log") as url:
        for n, body in enumerate(bodies[: 1 + batches]):  # the first list warms up, untimed
            took = _post_list(url, body, headers, size)
            if n:
                seconds.append(took)
        if together:
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                list(pool.map(lambda b: _post_list(url, b, headers, size), bodies[1 + batches :]))
            concurrent = time.perf_counter() - started
    # The same lists' cost in CPU time, load-independent: Django in one process (the test Client,
    # the whole view) plus its PostgreSQL server process (SQLite runs inside the first).
    cost = live.finish(
        live.start_script("batch_in_process.py", str(batches), str(size), env=db.env)
    )
    cpu = cost["cpu_seconds"] + cost["db_cpu_seconds"]
    return {
        "records": batches * size,
        "seconds": sum(seconds),
        "lists": batches,
        "list_size": size,
        "workers": workers,
        "p50_ms_per_list": round(statistics.median(seconds) * 1000, 1),
        "tasks_per_second_p50_list": round(size / statistics.median(seconds)),
        "cpu_ms_per_list": round(cpu * 1000 / batches, 1),
        "db_cpu_ms_per_list": round(cost["db_cpu_seconds"] * 1000 / batches, 1),
        "tasks_per_cpu_second": round(batches * size / cpu),
        "clients": clients,
        "tasks_per_second_concurrent": round(together * size / concurrent) if together else None,
    }


def bench_cli(db: BenchDatabase, records: int, single_calls: int) -> dict:
    rng = random.Random(7)
    tasks = [task("bench-cli", i, rng) for i in range(records)]
    path = db.directory / "tasks.json"
    path.write_text(json.dumps(tasks))
    started = time.perf_counter()
    out = live.manage(db.env, "record_task", str(path))
    seconds = time.perf_counter() - started
    assert len(out.split()) == records
    single = db.directory / "one.json"
    single.write_text(json.dumps(tasks[0] | {"description": "one task per process"}))
    started = time.perf_counter()
    for _ in range(single_calls):
        live.manage(db.env, "record_task", str(single))
    per_call = (time.perf_counter() - started) / single_calls if single_calls else None
    return {
        "records": records,
        "seconds": seconds,
        "single_task_calls": single_calls,
        "seconds_per_single_task_call": per_call,
    }


def kept_seed(directory: Path, server_url: str | None, size: int) -> BenchDatabase | None:
    """The ``records-<size>`` database a ``bench_panels.py --workdir DIR --keep`` run left (same
    server for PostgreSQL), migrated to this code, or None."""
    kept = Databases(directory, server_url, keep=True).exists(f"records-{size}")
    if kept is None or count_records(kept) != size:
        return None
    live.manage(kept.env, "migrate", "--no-input")
    if not kept.postgres:
        checkpoint(kept.directory)  # the copies take the one file
    return kept


def bench_size(databases: Databases, size: int, args: argparse.Namespace) -> dict:
    template = kept_seed(args.reuse_seeds, args.database_url, size) if args.reuse_seeds else None
    if template is None:
        template = databases.new(f"table-{size}")
        seed_seconds = seed(template, size)
    else:
        seed_seconds = 0.0
        print(f"reusing the kept {size:,}-record seed in {args.reuse_seeds}", file=sys.stderr)
    assert count_records(template) == size
    ways = {
        "python": lambda db: bench_python(db, args.records),
        "http": lambda db: bench_http(db, args.records, args.clients, args.workers),
        "batch": lambda db: bench_batch(
            db, args.batches, args.batch_size, args.workers, args.batch_clients
        ),
        "cli": lambda db: bench_cli(db, args.records, args.cli_calls),
    }
    results = {"table_records": size, "seed_seconds": round(seed_seconds, 1)}
    for way in args.ways:
        figures = ways[way](databases.new(f"table-{size}-{way}", template=template))
        figures["records_per_second"] = round(figures["records"] / figures["seconds"], 1)
        figures["seconds"] = round(figures["seconds"], 2)
        results[way] = figures
    return results


def ratios(results: list[dict], ways: list[str]) -> dict:
    """Largest table ÷ smallest: cost per task (python) and time per task (every way)."""
    if len(results) < 2:
        return {}
    small, large = results[0], results[-1]
    out = {"sizes": [small["table_records"], large["table_records"]]}
    for way in ways:
        out[f"{way}_seconds_per_task"] = round(
            small[way]["records_per_second"] / large[way]["records_per_second"], 2
        )
    if "python" in ways:
        out["python_cpu_ms_per_task"] = round(
            large["python"]["cpu_ms_per_task"] / small["python"]["cpu_ms_per_task"], 2
        )
    return out


def table(results: list[dict], ways: list[str]) -> str:
    cpu = "python" in ways
    lines = [
        f"{'table size':>12} "
        + " ".join(f"{w + ' rec/s':>12}" for w in ways)
        + (f" {'python rec/CPU-s':>17} {'python ms/task':>15}" if cpu else "")
    ]
    for row in results:
        cells = [f"{row[w]['records_per_second']:>12,.0f}" for w in ways]
        if cpu:
            cells.append(f"{row['python']['records_per_cpu_second']:>17,.0f}")
            cells.append(f"{row['python']['ms_per_task']:>15.2f}")
        lines.append(f"{row['table_records']:>12,} " + " ".join(cells))
    cli = [r["cli"] for r in results if "cli" in r and r["cli"]["seconds_per_single_task_call"]]
    if cli:
        per_call = ", ".join(f"{c['seconds_per_single_task_call']:.2f}s" for c in cli)
        lines.append(f"record_task with one task per process: {per_call} per call")
    for row in results:
        if "batch" in row:
            b = row["batch"]
            lines.append(
                f"{row['table_records']:>12,}: lists of {b['list_size']:,}: p50 "
                f"{b['p50_ms_per_list']:.0f} ms per list = {b['tasks_per_second_p50_list']:,} "
                f"tasks/s; CPU {b['cpu_ms_per_list']:.0f} ms per list (database "
                f"{b['db_cpu_ms_per_list']:.0f}) = {b['tasks_per_cpu_second']:,} tasks/CPU-s"
            )
            if b["tasks_per_second_concurrent"]:
                lines.append(
                    f"{'':>12}  {b['clients']} clients posting lists at once: "
                    f"{b['tasks_per_second_concurrent']:,} tasks/s"
                )
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
        help="Table sizes to measure at, seeded by seed_demo (default: 0, an empty table; "
        "e.g. 2000 1000000).",
    )
    parser.add_argument("--clients", type=int, default=4, help="HTTP client processes.")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers.")
    parser.add_argument("--batches", type=int, default=5, help="Timed lists (batch way).")
    parser.add_argument("--batch-size", type=int, default=1000, help="Tasks per list.")
    parser.add_argument(
        "--batch-clients",
        type=int,
        default=2,
        help="Clients posting lists at once after the one-by-one lists (1: none).",
    )
    parser.add_argument(
        "--reuse-seeds",
        type=Path,
        metavar="DIR",
        help="Take each table size's seed from a bench_panels.py --workdir DIR --keep run "
        "(records-<N>, the same --database-url) instead of seeding it again.",
    )
    parser.add_argument("--cli-calls", type=int, default=5, help="One-task record_task runs.")
    parser.add_argument(
        "--ways",
        nargs="+",
        default=["python", "http", "batch", "cli"],
        choices=["python", "http", "batch", "cli"],
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary databases.")
    add_database_url(parser)
    args = parser.parse_args()
    check_database_url(parser, args.database_url)

    base = Path(tempfile.mkdtemp(prefix="perfsite-bench-"))
    databases = Databases(base, args.database_url, keep=args.keep)
    load_before = machine()["load_average"]
    try:
        described = databases.describe()
        results = [bench_size(databases, size, args) for size in sorted(args.seed_records)]
    finally:
        databases.close()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report = {
        "database": described,
        "machine": machine() | {"load_average_at_start": load_before},
        "git": git_revision(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "results": results,
        "ratios_largest_vs_smallest": ratios(results, args.ways),
    }
    print(table(results, args.ways), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
