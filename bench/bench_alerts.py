"""One evaluation of 50 alert rules by the size of the history (issue 18).

    python bench/bench_alerts.py                               # SQLite, 2,000 and 200,000 records
    python bench/bench_alerts.py --records 2000 1000000        # what the lead runs
    python bench/bench_alerts.py --records 2000 20000 --repeats 5

For each size it seeds a fresh SQLite database (``seed_demo``: records over the last 90 days,
see bench/_common.py), then, in this process with DEBUG off, adds the same 50 rules to each:
every metric (pass rate, mean quality, mean performance, cost per task, failed tasks), every
condition (below, above, drop), both windows (last 24 or 168 hours, last 20 or 200 tasks) and
every scope (everything, a task type, a model, a project, a skill, an agent, auto/manual, and
mixes). It times ``evaluate_rules`` (every rule measured, its sample and state stored; no
notification is sent) in rounds that ask every database in turn, so the noise of a shared
machine falls on all sizes alike. Reports p50/p95 wall and median CPU milliseconds per
evaluation, the queries per evaluation, and the ratio of the largest size to the smallest.

Prints the figures as JSON on stdout and a table on stderr. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DB_FILE, bench_env, git_revision, machine, seed_database, summary_ms

METRICS = ["pass_rate", "mean_quality", "mean_performance", "cost_per_task", "failed_tasks"]
SCOPES = [
    {},
    {"task_type": "debugging"},
    {"model": "GLM 4.6"},
    {"project": "storefront"},
    {"skill": "code-analysis"},
    {"agent": "code-analyzer"},
    {"origin": "manual"},
    {"task_type": "coding", "model": "Claude Sonnet 4.5"},
    {"task_type": "debugging", "skill": "pattern-learning", "origin": "auto"},
    {"project": "billing-service", "agent": "test-engineer"},
]
WINDOWS = [("hours", 24), ("tasks", 20), ("hours", 168), ("tasks", 200)]
THRESHOLDS = {  # below, above, drop
    "pass_rate": (70, 95, 10),
    "mean_quality": (75, 95, 5),
    "mean_performance": (70, 95, 5),
    "cost_per_task": (0.01, 0.5, 0.05),
    "failed_tasks": (1, 20, 3),
}


def rules() -> list[dict]:
    """50 rules: each scope with each metric, windows and conditions in turn."""
    made = []
    windows = itertools.cycle(WINDOWS)
    conditions = itertools.cycle(["below", "above", "drop"])
    for i, (scope, metric) in enumerate(itertools.product(SCOPES, METRICS)):
        kind, size = next(windows)
        condition = next(conditions)
        threshold = THRESHOLDS[metric][["below", "above", "drop"].index(condition)]
        made.append(
            {
                "name": f"rule {i:02d}",
                "metric": metric,
                "condition": condition,
                "threshold": threshold,
                "window_kind": kind,
                "window_size": size,
                "min_tasks": 5,
                **scope,
            }
        )
    return made


def setup_django(env: dict[str, str]) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env | {"DJANGO_DEBUG": "1", "DJANGO_ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False


def wrapper_for(directory: Path):
    from django.db import connections
    from django.db.utils import load_backend

    settings = {**connections.settings["default"], "NAME": str(directory / DB_FILE)}
    wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, "default")
    wrapper.ensure_connection()
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[2000, 200_000], metavar="N")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--workdir", type=Path, help="Keep the databases here (default: temp).")
    args = parser.parse_args()
    sizes = sorted(set(args.records))
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench-alerts-"))

    seed_seconds = {}
    for n in sizes:
        directory = root / f"db-{n}"
        if not (directory / DB_FILE).exists():
            print(f"seeding {n:,} records ...", file=sys.stderr, flush=True)
            seed_seconds[n] = round(seed_database(directory, n), 1)
    setup_django(bench_env(root / f"db-{sizes[0]}"))

    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from records.alerts.models import AlertRule
    from records.alerts.services import evaluate_rules, rule_create

    wrappers = {n: wrapper_for(root / f"db-{n}") for n in sizes}
    for wrapper in wrappers.values():
        connections["default"] = wrapper
        AlertRule.objects.all().delete()
        for fields in rules():
            rule_create(**fields)

    now = timezone.now()
    figures = {n: {"times": [], "cpu": []} for n in sizes}
    for n, wrapper in wrappers.items():
        connections["default"] = wrapper
        for _ in range(args.warmup):
            evaluate_rules(now=now)
        with CaptureQueriesContext(connection) as queries:
            evaluated = evaluate_rules(now=now)
        figures[n]["queries"] = len(queries)
        figures[n]["rules"] = len(evaluated)
        figures[n]["firing"] = sum(1 for e in evaluated if e.rule.state == "firing")
        if len(evaluated) != len(rules()):  # a rule failed (logged): its figures would lie
            raise SystemExit(f"only {len(evaluated)} of {len(rules())} rules evaluated at {n:,}")
    load_before = machine()["load_average"]
    for _ in range(args.repeats):
        for n, wrapper in wrappers.items():
            connections["default"] = wrapper
            started, cpu = time.perf_counter(), time.process_time()
            evaluate_rules(now=now)
            figures[n]["times"].append(time.perf_counter() - started)
            figures[n]["cpu"].append(time.process_time() - cpu)
    for f in figures.values():
        f.update(summary_ms(f.pop("times")))
        f["cpu_p50_ms"] = summary_ms(f.pop("cpu"))["p50_ms"]
    for wrapper in wrappers.values():
        wrapper.close()
    ratio = round(figures[sizes[-1]]["p50_ms"] / figures[sizes[0]]["p50_ms"], 2)
    cpu_ratio = round(figures[sizes[-1]]["cpu_p50_ms"] / figures[sizes[0]]["cpu_p50_ms"], 2)
    report = {
        "benchmark": "one evaluation of 50 alert rules (evaluate_rules, DEBUG off)",
        "database": "SQLite",
        "machine": machine() | {"load_average_at_start": load_before},
        "git": git_revision(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "warmup": args.warmup,
        "repeats": args.repeats,
        "seed_seconds": seed_seconds,
        "sizes": figures,
        "ratio_p50": ratio,
        "ratio_cpu_p50": cpu_ratio,
    }
    head = f"{'records':>10} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'queries':>8} {'firing':>7}"
    print(head, file=sys.stderr)
    for n, f in figures.items():
        print(
            f"{n:>10,} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} {f['cpu_p50_ms']:>8.1f} "
            f"{f['queries']:>8} {f['firing']:>7}",
            file=sys.stderr,
        )
    print(
        f"ratio p50 {sizes[-1]:,} / {sizes[0]:,} records: {ratio} (CPU {cpu_ratio})",
        file=sys.stderr,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
