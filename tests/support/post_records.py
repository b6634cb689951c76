"""Client process: POST N tasks to /api/records with urllib; print JSON {ids, statuses, failures}.

usage: post_records.py URL TOKEN COUNT PREFIX START_AT [--idempotency-keys]

START_AT (epoch seconds) lines up several clients so they really write at the same moment. With
--idempotency-keys every request carries the key PREFIX-<i> (and the description is the same), so
several clients with one PREFIX are concurrent retries of the same COUNT tasks.
"""

import json
import random
import sys
import time
import urllib.error
import urllib.request

MODELS = ["claude-sonnet-4-5", "GLM-4.6", "claude-opus-4-1"]
SKILLS = ["code-analysis", "pattern-learning", "testing-strategies", "quality-standards"]
TYPES = ["refactoring", "coding", "debugging", "testing", "documentation"]


def task(prefix: str, i: int, rng: random.Random) -> dict:
    return {
        "task_type": rng.choice(TYPES),
        "description": f"{prefix} task {i}",
        "duration": round(rng.uniform(30, 3000), 1),
        "success": rng.random() < 0.85,
        "skills_used": rng.sample(SKILLS, rng.randint(1, 3)),
        "agents_delegated": [f"agent-{rng.randint(1, 3)}"],
        "model_used": rng.choice(MODELS),
        "files_modified": rng.randint(1, 9),
    }


def main() -> int:
    url, token, count, prefix, start_at = sys.argv[1:6]
    keyed = "--idempotency-keys" in sys.argv[6:]
    rng = random.Random(prefix)
    time.sleep(max(0.0, float(start_at) - time.time()))
    ids, statuses, failures = [], [], []
    started = time.perf_counter()
    for i in range(int(count)):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if keyed:
            headers["Idempotency-Key"] = f"{prefix}-{i}"
        body = json.dumps(task(prefix, i, random.Random(i) if keyed else rng)).encode()
        request = urllib.request.Request(f"{url}/api/records", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses.append(response.status)
                ids.append(json.loads(response.read())["record_id"])
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
            failures.append(f"{i}: HTTP {exc.code} {exc.read()[:300]!r}")
        except OSError as exc:
            statuses.append(None)
            failures.append(f"{i}: {exc!r}")
    seconds = time.perf_counter() - started
    print(json.dumps({"ids": ids, "statuses": statuses, "failures": failures, "seconds": seconds}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
