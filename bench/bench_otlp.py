"""OTLP ingestion throughput: Claude Code log events per second, at an empty and a full table.

    python bench/bench_otlp.py                                 # 0 and 2,000 records, 20 batches
    python bench/bench_otlp.py --seed-records 0 200000 --batches 40

For each table size it makes a fresh SQLite file (seeded with ``manage.py seed_demo``), starts the
production server (gunicorn's asgi worker, 1 worker, DEBUG off) and posts batches of 512 log
records as Claude Code's exporter does (``application/x-protobuf``, one request after the other,
a new connection each). Each batch carries 8 events of each of 32 new turns and the last 8 events
of the 32 turns the previous batch began, so half the turns are created and half updated
(record_create and record_update, rollups kept exact), as when a turn spans export intervals.

Reports events per second from the median batch time (and the mean over all batches), and the
ratio of the empty table's rate to the full one's. Prints a table on stderr, JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_env, git_revision, machine, seed_database, stored_count

from tests.support import live
from tests.telemetry.bodies import Turn, logs_request

BATCH = 512
TURNS = 32
EVENTS_PER_HALF = 8


def events_of(turn: Turn, half: int) -> list[dict]:
    """Eight events of a turn: the first half (prompt, requests, tools) or the second."""
    base = half * 8.0
    if half == 0:
        return [
            turn.prompt(base, text=f"Implement part {turn.prompt_id} of the export"),
            turn.api_request(base + 1),
            turn.tool_result(base + 2, "Read"),
            turn.api_request(base + 3),
            turn.tool_result(base + 4, "Edit"),
            turn.api_request(base + 5),
            turn.tool_result(base + 6, "Bash", success=False, error="Exit code 1"),
            turn.api_request(base + 7),
        ]
    return [
        turn.api_request(base),
        turn.tool_result(base + 1, "Edit"),
        turn.api_request(base + 2),
        turn.tool_result(base + 3, "Bash"),
        turn.api_request(base + 4),
        turn.tool_result(base + 5, "Read"),
        turn.api_request(base + 6),
        turn.event("assistant_response", base + 7, response_length=120),
    ]


def batches(count: int, label: str) -> list[bytes]:
    """``count`` bodies of 512 events: 32 turns begun, 32 of the batch before finished."""
    now = time.time_ns() - 3600 * 10**9
    bodies, previous = [], []
    for index in range(count + 1):
        current = [
            Turn(
                f"{label}-{index}-{n}",
                session=f"bench-{label}-{n % 4}",
                start_ns=now + index * 10**9,
            )
            for n in range(TURNS)
        ]
        events = [e for turn in current for e in events_of(turn, 0)]
        events += [e for turn in previous for e in events_of(turn, 1)]
        if previous:  # the first request only primes (no turn to finish yet): not measured
            assert len(events) == BATCH
        bodies.append(logs_request(events).SerializeToString())
        previous = current
    return bodies


def post(url: str, token: str, body: bytes) -> float:
    request = urllib.request.Request(
        f"{url}/v1/logs",
        data=body,
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = response.read()
        assert response.status == 200, response.status
    assert answer == b"", answer  # no partial success: every event stored
    return time.perf_counter() - started


def bench(directory: Path, seed: int, count: int) -> dict:
    seed_seconds = seed_database(directory, seed)
    env = bench_env(directory)
    token = live.create_token(env, "bench-otlp")
    bodies = batches(count, f"s{seed}")
    with live.gunicorn(env, workers=1, log=directory / "gunicorn.log") as url:
        post(url, token, bodies[0])
        times = [post(url, token, body) for body in bodies[1:]]
    stored = stored_count(directory)
    assert stored == seed + TURNS * (count + 1), stored
    median = statistics.median(times)
    return {
        "seed_records": seed,
        "seed_seconds": round(seed_seconds, 1),
        "batches": count,
        "events_per_batch": BATCH,
        "median_batch_ms": round(median * 1000, 1),
        "events_per_second_median": round(BATCH / median, 1),
        "events_per_second_mean": round(BATCH * count / sum(times), 1),
        "records_after": stored,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-records", type=int, nargs="+", default=[0, 2000])
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-otlp-") as tmp:
        for seed in args.seed_records:
            results.append(bench(Path(tmp) / f"seed-{seed}", seed, args.batches))
            row = results[-1]
            rate, mean = row["events_per_second_median"], row["events_per_second_mean"]
            print(
                f"{seed:>9} records: {rate:>8} events/s "
                f"(median batch {row['median_batch_ms']} ms, mean {mean}/s)",
                file=sys.stderr,
            )
    first, last = results[0], results[-1]
    ratio = round(first["events_per_second_median"] / last["events_per_second_median"], 2)
    print(f"ratio empty / largest table: {ratio} (target <= 1.5)", file=sys.stderr)
    print(
        json.dumps(
            {"results": results, "ratio": ratio, "machine": machine(), "revision": git_revision()},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
