"""Dashboard latency: median and p95 of every panel, the full page and the JSON API, by size.

    python bench/bench_panels.py                              # 2k, 20k and 200k records
    python bench/bench_panels.py --sizes 2000 1000000 --targets page --periods 7d
    python bench/bench_panels.py --workdir /tmp/pb --keep     # keep (and later reuse) the databases
    python bench/bench_panels.py --explain                    # SQL and query plans, largest size
    python bench/bench_panels.py --database-url postgres://postgres@127.0.0.1:5432/perfsite_bench

For each size it makes a fresh database — SQLite (settings' WAL / IMMEDIATE / cache pragmas), or
with ``--database-url`` (default: DATABASE_URL) a PostgreSQL database on that server, named ``<its
database>_records_<N>`` so that ``--workdir``/``--keep`` runs reuse it — (``migrate``, then
``seed_demo --records N`` in a subprocess), then, in this process, asks every panel
(``/fragments/<panel>/`` for each panel the dashboard registers), the full page ``/``, the compare
view (``/compare/`` of two models, a skill used or not, advised or not, the period against the one
before), the search and sort cases (``SEARCH_SORT_TARGETS``: ``?q=`` and ``?sort=`` on the page and
panels) and the JSON read API (``/api/summary``, ``/api/recent-performance-records`` and
``/api/recommendations`` of debugging, with the period's number of days; "all" asks the maximum)
through Django's test Client for each period, DEBUG off. The sizes are measured side by side: after
the warm-up requests, each timed round asks the same URL once of every size's database in turn, so
machine noise falls on all sizes alike. Reports p50 and p95 (wall) and the median CPU time per
request (this process runs Django and the database client, so it is the cost on an idle core) per
size, each panel's ratio of the largest size to the smallest, and the queries per request.

Prints the figures as JSON on stdout and a table on stderr. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchDatabase,
    Databases,
    add_database_url,
    check_database_url,
    count_records,
    git_revision,
    machine,
    seed,
    summary_ms,
)

from tests.support import live

PERIODS = ["7d", "all"]


def prepare(databases: Databases, sizes: list[int]) -> dict[int, dict]:
    """A seeded database per size; an existing one with the right count is reused, migrated
    first so that it matches the code (a migration may add rollup rows the panels read)."""
    prepared = {}
    for size in sizes:
        label = f"records-{size}"
        db = databases.exists(label)
        if db is not None and count_records(db) == size:
            live.manage(db.env, "migrate", "--no-input")
            prepared[size] = {"db": db, "seed_seconds": None, "reused": True}
            continue
        if db is not None:
            raise SystemExit(f"{label} holds another database; remove it or pick --workdir.")
        print(f"seeding {size:,} records ...", file=sys.stderr, flush=True)
        db = databases.new(label, fixed=True)
        seconds = seed(db, size)
        if db.postgres:  # plans of a freshly bulk-loaded table are guesses until it is analysed
            import psycopg

            with psycopg.connect(db.env["DATABASE_URL"], autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        prepared[size] = {"db": db, "seed_seconds": round(seconds, 1)}
    return prepared


def setup_django(first: BenchDatabase) -> None:
    # DEBUG=1 at import only so that templates need no collected static manifest; it is switched
    # off before the first request (no SQL logging, no template debug info).
    env = first.env | {"DJANGO_DEBUG": "1"}
    env["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False


def connection_per_size(prepared: dict[int, dict]) -> dict:
    """One open database connection per size, swapped in as ``default`` before each request."""
    from django.db import connections
    from django.db.utils import load_backend

    base = connections.settings["default"]
    backend = load_backend(base["ENGINE"])
    wrappers = {}
    for size, info in prepared.items():
        wrapper = backend.DatabaseWrapper(info["db"].settings(base), "default")
        wrapper.ensure_connection()
        wrappers[size] = wrapper
    return wrappers


# The JSON read API (the old tool's "dashboard API") takes a number of days, not a period.
API_TARGETS = {
    "api-summary": "dashboard:api-summary",
    "api-recent": "dashboard:api-recent-performance-records",
    "api-recommendations": "dashboard:api-recommendations",
}
API_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90, "all": 36_500}
# Search and sort cases: (page or panel, extra query string). "fix crash" finds one demo
# description template in eight (two words, both prefixes); "add" one in five or so.
SEARCH_SORT_TARGETS = {
    "search-page": ("page", "q=fix+crash"),
    "search-kpis": ("kpis", "q=fix+crash"),
    "search-insights": ("insights", "q=fix+crash"),
    "search-recent": ("recent-records", "q=fix+crash"),
    "search-broad": ("recent-records", "q=add"),
    "sort-recent": ("recent-records", "sort=-quality_score"),
    "sort-nulls": ("recent-records", "sort=duration_seconds"),
    "sort-search": ("recent-records", "q=fix&sort=-duration_seconds"),
    "sort-tables": ("page", "type_sort=-avg_quality&model_sort=name"),
}
# /compare/ of demo slices: two models, a skill used or not, the period against the one before.
COMPARE_TARGETS = {
    "compare-models": {"a": "model:GLM 4.6", "b": "model:Claude Sonnet 4.5"},
    "compare-skill": {"a": "skill:code-analysis", "b": "noskill:code-analysis"},
    # a quarter of the demo's turns are advised: TypeRollup's advised key (0017) sums both sides
    "compare-advised": {"a": "advised:yes", "b": "advised:no"},
    "compare-periods": {"a": "period:{period}", "b": "period:prev{period}"},
}


def targets(names: list[str] | None, periods: list[str]) -> list[tuple[str, str, str]]:
    """(target name, period, url) for every panel, the page and the JSON read API."""
    from django.urls import reverse

    from dashboard.panels import PANELS

    known = [*PANELS, "page", *API_TARGETS, *SEARCH_SORT_TARGETS, *COMPARE_TARGETS]
    unknown = set(names or ()) - set(known)
    if unknown:
        raise SystemExit(f"unknown targets {sorted(unknown)}; choose from {known}")
    out = []
    for name in known:
        if names and name not in names:
            continue
        for period in periods:
            if name in API_TARGETS:
                url = f"{reverse(API_TARGETS[name])}?days={API_DAYS[period]}"
                if name == "api-recommendations":
                    url += "&task_type=debugging"
            elif name in SEARCH_SORT_TARGETS:
                base, extra = SEARCH_SORT_TARGETS[name]
                path = (
                    reverse("dashboard:index")
                    if base == "page"
                    else reverse("dashboard:fragment", args=[base])
                )
                url = f"{path}?period={period}&{extra}"
            elif name in COMPARE_TARGETS:
                if name == "compare-periods" and period == "all":
                    continue  # all time has no period before it
                sides = {k: v.format(period=period) for k, v in COMPARE_TARGETS[name].items()}
                url = f"{reverse('dashboard:compare')}?{urlencode(sides | {'period': period})}"
            elif name == "page":
                url = f"{reverse('dashboard:index')}?period={period}"
            else:
                url = f"{reverse('dashboard:fragment', args=[name])}?period={period}"
            out.append((name, period, url))
    return out


def measure(
    wrappers: dict, urls: list[tuple[str, str, str]], *, warmup: int, repeats: int
) -> list[dict]:
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()

    def ask(url: str) -> tuple[float, float]:
        """(wall seconds, CPU seconds) of one request; SQLite runs in this process, so the CPU
        time is the request's whole cost on an idle core, whatever else the machine runs."""
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if response.status_code != 200 or not response.content:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        return seconds, cpu

    results = []
    for name, period, url in urls:
        row = {"target": name, "period": period, "url": url, "sizes": {}}
        for size, wrapper in wrappers.items():
            connections["default"] = wrapper
            for _ in range(warmup):
                ask(url)
            with CaptureQueriesContext(connection) as queries:
                ask(url)
            row["sizes"][size] = {"queries": len(queries), "times": [], "cpu": []}
        for _ in range(repeats):
            for size, wrapper in wrappers.items():
                connections["default"] = wrapper
                seconds, cpu = ask(url)
                row["sizes"][size]["times"].append(seconds)
                row["sizes"][size]["cpu"].append(cpu)
        for figures in row["sizes"].values():
            figures.update(summary_ms(figures.pop("times")))
            cpu = summary_ms(figures.pop("cpu"))
            figures.update(cpu_p50_ms=cpu["p50_ms"], cpu_p95_ms=cpu["p95_ms"])
        smallest, largest = row["sizes"][min(wrappers)], row["sizes"][max(wrappers)]
        row["ratio_p50_largest_vs_smallest"] = round(largest["p50_ms"] / smallest["p50_ms"], 2)
        row["ratio_cpu_p50_largest_vs_smallest"] = round(
            largest["cpu_p50_ms"] / smallest["cpu_p50_ms"], 2
        )
        results.append(row)
        print(f"  {name:>15} {period:>4}: " + ", ".join(
            f"{size:,} {f['p50_ms']:.1f} ms (CPU {f['cpu_p50_ms']:.1f})"
            for size, f in row["sizes"].items()
        ), file=sys.stderr, flush=True)  # fmt: skip
    return results


def explain(wrapper, urls: list[tuple[str, str, str]]) -> list[dict]:
    """Every query each URL runs at one size, with its query plan (SQLite's EXPLAIN QUERY PLAN,
    PostgreSQL's EXPLAIN (ANALYZE, BUFFERS))."""
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    connections["default"] = wrapper
    client = Client()
    plans = []
    for name, period, url in urls:
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        for query in queries.captured_queries:
            sql = query["sql"]
            plan = []
            if sql.lstrip().upper().startswith("SELECT"):
                postgres = connection.vendor == "postgresql"
                explain = "EXPLAIN (ANALYZE, BUFFERS)" if postgres else "EXPLAIN QUERY PLAN"
                with connection.cursor() as cursor:
                    cursor.execute(f"{explain} {sql}")
                    plan = [row[-1] for row in cursor.fetchall()]
            plans.append(
                {"target": name, "period": period, "ms": float(query["time"]) * 1000, "sql": sql,
                 "plan": plan}
            )  # fmt: skip
    return plans


def table(results: list[dict], sizes: list[int]) -> str:
    head = f"{'target':>15} {'period':>6} " + " ".join(
        f"{f'{size:,} p50/p95/CPU ms':>26}" for size in sizes
    )
    lines = [head + f" {'queries':>8} {'ratio':>6} {'CPU ratio':>9}"]
    for row in results:
        cells = [
            f"{row['sizes'][s]['p50_ms']:.1f} /{row['sizes'][s]['p95_ms']:.1f} /"
            f"{row['sizes'][s]['cpu_p50_ms']:.1f}"
            for s in sizes
        ]
        queries = row["sizes"][max(sizes)]["queries"]
        lines.append(
            f"{row['target']:>15} {row['period']:>6} "
            + " ".join(f"{c:>26}" for c in cells)
            + f" {queries:>8} {row['ratio_p50_largest_vs_smallest']:>6}"
            + f" {row['ratio_cpu_p50_largest_vs_smallest']:>9}"
        )
    lines.append(
        f"ratio = p50 at {max(sizes):,} / p50 at {min(sizes):,} records, same run; "
        "CPU = median CPU time of this process per request (Django and SQLite, load-independent)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[2_000, 20_000, 200_000], metavar="N",
        help="Table sizes (records), each seeded by seed_demo (default: 2000 20000 200000).",
    )  # fmt: skip
    parser.add_argument("--periods", nargs="+", default=PERIODS, help="Periods (default 7d all).")
    parser.add_argument(
        "--targets",
        nargs="+",
        help=f"Panel names, 'page', the API cases ({', '.join(API_TARGETS)}), the search and "
        f"sort cases ({', '.join(SEARCH_SORT_TARGETS)}), the compare cases "
        f"({', '.join(COMPARE_TARGETS)}) (default: all).",
    )
    parser.add_argument("--warmup", type=int, default=3, help="Untimed requests per URL and size.")
    parser.add_argument("--repeats", type=int, default=20, help="Timed requests per URL and size.")
    parser.add_argument(
        "--workdir", type=Path, help="Where the databases go (default: a temp dir)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the databases afterwards.")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="Add SQL and plans, largest size (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)).",
    )
    add_database_url(parser)
    args = parser.parse_args()
    check_database_url(parser, args.database_url)
    if args.repeats < 15:
        parser.error("--repeats must be at least 15 for a meaningful p95")
    sizes = sorted(set(args.sizes))

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="perfsite-bench-panels-"))
    workdir.mkdir(parents=True, exist_ok=True)
    databases = Databases(workdir, args.database_url, keep=args.keep or bool(args.workdir))
    try:
        described = databases.describe()
        prepared = prepare(databases, sizes)
        setup_django(prepared[sizes[0]]["db"])
        wrappers = connection_per_size(prepared)
        urls = targets(args.targets, args.periods)
        load_before = machine()["load_average"]
        results = measure(wrappers, urls, warmup=args.warmup, repeats=args.repeats)
        plans = explain(wrappers[sizes[-1]], urls) if args.explain else None
        for wrapper in wrappers.values():
            wrapper.close()
    finally:
        databases.close()
        if not args.keep and not args.workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "benchmark": "dashboard panels (Django test Client, in-process, DEBUG off)",
        "database": f"{described}, fresh per size, seeded by seed_demo",
        "machine": machine() | {"load_average_at_start": load_before},
        "git": git_revision(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "warmup": args.warmup,
        "repeats": args.repeats,
        "seed_seconds": {size: info["seed_seconds"] for size, info in prepared.items()},
        "results": results,
    }
    if plans is not None:
        report["explain"] = plans
    print(table(results, sizes), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
