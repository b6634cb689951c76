"""Writer process: record N tasks through the Python API; print JSON {ids, failures, seconds,
cpu_seconds}; cpu_seconds is the loop's CPU time, which machine load does not inflate.

usage: record_in_process.py COUNT PREFIX START_AT

Uses whatever database the environment configures (DATABASE_URL or PERFSITE_DATA_DIR).
"""

import json
import random
import sys
import time

import django


def main() -> int:
    count, prefix, start_at = sys.argv[1:4]
    django.setup()
    from records.recorder import record_task_performance
    from tests.support.post_records import task

    rng = random.Random(prefix)
    tasks = [task(prefix, i, rng) for i in range(int(count))]
    time.sleep(max(0.0, float(start_at) - time.time()))
    ids, failures = [], []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i, data in enumerate(tasks):
        model = data.pop("model_used")
        try:
            ids.append(record_task_performance(data, model))
        except Exception as exc:  # report every failure, keep going
            failures.append(f"{i}: {exc!r}")
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    print(
        json.dumps(
            {"ids": ids, "failures": failures, "seconds": seconds, "cpu_seconds": cpu_seconds}
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
