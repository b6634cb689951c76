"""Soak client process: write or read against a live Perfsite until a deadline; print JSON.

usage: soak_client.py write URL TOKEN PREFIX SECONDS START_AT
       soak_client.py read URL - - SECONDS START_AT PATH [PATH ...]

A writer POSTs tasks (post_records.task) to /api/records and reports the ids it got with 201; a
reader GETs each PATH in turn. Every other answer, and every connection error, is a failure.
Output: {"requests", "ids", "failures", "seconds", "by_path"}.
"""

import json
import random
import sys
import time
import urllib.error
import urllib.request
from collections import Counter

from post_records import task

MAX_FAILURES_KEPT = 50


def main() -> int:
    mode, url, token, prefix, seconds, start_at, *paths = sys.argv[1:]
    rng = random.Random(prefix)
    time.sleep(max(0.0, float(start_at) - time.time()))
    deadline = time.monotonic() + float(seconds)
    ids: list[str] = []
    failures: list[str] = []
    failed = 0
    by_path: Counter[str] = Counter()
    requests = 0
    started = time.perf_counter()
    while time.monotonic() < deadline:
        if mode == "write":
            path = "/api/records"
            body = json.dumps(task(prefix, requests, rng)).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            request = urllib.request.Request(f"{url}{path}", data=body, headers=headers)
            expected = 201
        else:
            path = paths[requests % len(paths)]
            request = urllib.request.Request(f"{url}{path}")
            expected = 200
        requests += 1
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                content = response.read()
                if response.status != expected:
                    raise urllib.error.HTTPError(path, response.status, "", None, None)
                if mode == "write":
                    ids.append(json.loads(content)["record_id"])
                by_path[path] += 1
        except urllib.error.HTTPError as exc:
            failed += 1
            if len(failures) < MAX_FAILURES_KEPT:
                failures.append(f"{path}: HTTP {exc.code}")
        except OSError as exc:
            failed += 1
            if len(failures) < MAX_FAILURES_KEPT:
                failures.append(f"{path}: {exc!r}")
    out = {
        "requests": requests,
        "failed": failed,
        "ids": ids,
        "failures": failures,
        "seconds": time.perf_counter() - started,
        "by_path": by_path,
    }
    print(json.dumps(out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
