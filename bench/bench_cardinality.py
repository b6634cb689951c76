"""Dashboard latency by the number of distinct model, skill and agent names (issue 13, item 2).

    python bench/bench_cardinality.py                          # SQLite, 10 and 10,000 names
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perfsite_me python bench/bench_cardinality.py
    python bench/bench_cardinality.py --database-url postgres://postgres@127.0.0.1:5432/perfsite_me
    python bench/bench_cardinality.py --names 10 1000 10000 --records 20000 --repeats 20
    python bench/bench_cardinality.py --names 10 3000 --targets "page 7d" --repeats 3

For each number of names it makes a fresh database (SQLite in a temporary directory, or, when
``--database-url`` (default: DATABASE_URL) names a PostgreSQL server, a new database on it named
after that URL's, dropped afterwards), migrates it, and stores the same number of records
(``--records``, default 20,000) spread over the last six days, record j under name j mod N: model-i
with skill-i, one shared skill and agent-i, so N models, N + 1 skills and N agents all fall inside
every measured window (tests/support/many_names.py writes them in bulk, scored by the recording
schema, with their rollups). Then, in this process, DEBUG off, it asks ``/`` (7 days and all time),
``/fragments/insights/``, ``/fragments/models/`` and ``/api/summary`` through Django's test Client:
warm-up requests, then timed rounds that ask the same URL of every database in turn, so that the
noise of a shared machine falls on all sizes alike. Reports p50/p95 wall and median CPU
milliseconds, the queries per request and the longest statement (characters of SQL), and the ratio
of the largest number of names to the smallest.

Prints the figures as JSON on stdout and a table on stderr. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DB_FILE,
    PRODUCTION,
    add_database_url,
    check_database_url,
    git_revision,
    machine,
    summary_ms,
)

from tests.support import live

TARGETS = {
    "page 7d": "/",
    "page all": "/?period=all",
    "insights": "/fragments/insights/",
    "models": "/fragments/models/",
    "api-summary": "/api/summary",
}


def databases(stack: ExitStack, names: list[int], server_url: str | None) -> dict[int, dict]:
    """A migrated, empty database per number of names: its environment and Django settings."""
    made = {}
    for n in names:
        if server_url:
            env = stack.enter_context(live.postgres_database(server_url, suffix=f"card{n}"))
        else:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="card-")))
            env = live.sqlite_env(directory)
        env = env | PRODUCTION
        live.manage(env, "migrate", "--no-input")
        made[n] = {"env": env}
    return made


def setup_django(env: dict[str, str]) -> None:
    # DEBUG=1 at import only so that templates need no collected static manifest; it is switched
    # off before the first request (no SQL logging, no template debug info).
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env | {"DJANGO_DEBUG": "1", "DJANGO_ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False


def wrapper_for(env: dict[str, str]):
    """An open connection to the database ``env`` names, to swap in as ``default``."""
    import dj_database_url
    from django.db import connections
    from django.db.utils import load_backend

    base = connections.settings["default"]
    if "DATABASE_URL" in env:
        settings = {**base, **dj_database_url.parse(env["DATABASE_URL"])}
    else:
        settings = {**base, "NAME": str(Path(env["PERFSITE_DATA_DIR"]) / DB_FILE)}
    wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, "default")
    wrapper.ensure_connection()
    return wrapper


def seed(wrappers: dict, records: int) -> dict[int, float]:
    from django.db import connections
    from django.utils import timezone

    from tests.support.many_names import record_many_names

    seconds = {}
    now = timezone.now()
    for n, wrapper in wrappers.items():
        connections["default"] = wrapper
        started = time.perf_counter()
        print(f"storing {records:,} records under {n:,} names ...", file=sys.stderr, flush=True)
        record_many_names(names=range(n), now=now, records=records)
        seconds[n] = round(time.perf_counter() - started, 1)
    return seconds


def measure(wrappers: dict, targets: dict[str, str], *, warmup: int, repeats: int) -> list[dict]:
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)  # a failing page is a figure too (500)

    def ask(url: str) -> tuple[float, float, int]:
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        return time.perf_counter() - wall, time.process_time() - cpu, response.status_code

    results = []
    for target, url in targets.items():
        row = {"target": target, "url": url, "names": {}}
        for n, wrapper in wrappers.items():
            connections["default"] = wrapper
            for _ in range(warmup):
                ask(url)
            with CaptureQueriesContext(connection) as queries:
                _, _, status = ask(url)
            row["names"][n] = {
                "status": status,
                "queries": len(queries),
                "longest_sql": max((len(q["sql"]) for q in queries.captured_queries), default=0),
                "times": [],
                "cpu": [],
            }
        for _ in range(repeats):
            for n, wrapper in wrappers.items():
                connections["default"] = wrapper
                seconds, cpu, _ = ask(url)
                row["names"][n]["times"].append(seconds)
                row["names"][n]["cpu"].append(cpu)
        for figures in row["names"].values():
            figures.update(summary_ms(figures.pop("times")))
            figures["cpu_p50_ms"] = summary_ms(figures.pop("cpu"))["p50_ms"]
        fewest, most = row["names"][min(wrappers)], row["names"][max(wrappers)]
        row["ratio_p50"] = round(most["p50_ms"] / fewest["p50_ms"], 2)
        results.append(row)
        print(f"  {target:>12}: " + ", ".join(
            f"{n:,} names {f['p50_ms']:.1f} ms ({f['status']})" for n, f in row["names"].items()
        ), file=sys.stderr, flush=True)  # fmt: skip
    return results


def table(results: list[dict], names: list[int]) -> str:
    head = f"{'target':>12} " + " ".join(f"{f'{n:,} names p50/p95/CPU ms':>30}" for n in names)
    lines = [head + f" {'queries':>8} {'longest SQL':>12} {'ratio':>6}"]
    for row in results:
        cells = []
        for n in names:
            f = row["names"][n]
            cell = f"{f['p50_ms']:.1f} /{f['p95_ms']:.1f} /{f['cpu_p50_ms']:.1f}"
            cells.append(cell if f["status"] == 200 else f"{cell} [{f['status']}]")
        queries = "/".join(str(row["names"][n]["queries"]) for n in names)
        longest = "/".join(str(row["names"][n]["longest_sql"]) for n in names)
        lines.append(
            f"{row['target']:>12} "
            + " ".join(f"{c:>30}" for c in cells)
            + f" {queries:>8} {longest:>12} {row['ratio_p50']:>6}"
        )
    lines.append(f"ratio = p50 at {max(names):,} names / p50 at {min(names):,} names, same run")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, nargs="+", default=[10, 10_000], metavar="N")
    parser.add_argument("--records", type=int, default=20_000, help="Records per database.")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed requests per URL and size.")
    parser.add_argument("--repeats", type=int, default=15, help="Timed requests per URL and size.")
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), help="Default: all.")
    add_database_url(parser)
    args = parser.parse_args()
    check_database_url(parser, args.database_url)
    targets = {name: url for name, url in TARGETS.items() if name in (args.targets or TARGETS)}
    names = sorted(set(args.names))
    server_url = args.database_url

    with ExitStack() as stack:
        made = databases(stack, names, server_url)
        setup_django(made[names[0]]["env"])
        wrappers = {n: wrapper_for(info["env"]) for n, info in made.items()}
        seed_seconds = seed(wrappers, args.records)
        load_before = machine()["load_average"]
        results = measure(wrappers, targets, warmup=args.warmup, repeats=args.repeats)
        for wrapper in wrappers.values():
            wrapper.close()
    report = {
        "benchmark": "dashboard by number of distinct names (Django test Client, DEBUG off)",
        "database": "PostgreSQL" if server_url else "SQLite",
        "machine": machine() | {"load_average_at_start": load_before},
        "git": git_revision(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "records": args.records,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "seed_seconds": seed_seconds,
        "results": results,
    }
    print(table(results, names), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
