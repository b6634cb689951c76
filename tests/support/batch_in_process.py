"""Worker process: POST LISTS lists of SIZE tasks to /api/records through Django's test Client
(the whole view, in this process) and print JSON {seconds, cpu_seconds, db_cpu_seconds, lists}.

usage: batch_in_process.py LISTS SIZE

``cpu_seconds`` is this process's CPU time for the timed lists; ``db_cpu_seconds`` that of its
PostgreSQL server process (read from /proc: the server runs on this machine), 0 on SQLite, which
runs inside this process. Their sum is what one list costs on idle cores, whatever the load. One
untimed list first warms the process up. Uses whatever database the environment configures.
"""

import json
import os
import random
import sys
import time

import django


def backend_cpu(connection) -> float:
    """CPU seconds of this connection's PostgreSQL server process so far (0 for SQLite)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    lists, size = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from records.recording.tokens import token_create
    from tests.support.post_records import task

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    connection.settings_dict["CONN_MAX_AGE"] = None  # one connection: its CPU is readable
    raw = token_create(name="bench-batch-in-process")[1]
    client = Client()
    rng = random.Random(5)
    bodies = [
        json.dumps([task(f"in-process-{n}", i, rng) for i in range(size)]) for n in range(lists + 1)
    ]
    seconds = cpu = db_cpu = 0.0
    for n, body in enumerate(bodies):
        db_before = backend_cpu(connection) if n else 0.0
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.post(
            "/api/records",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
            secure=True,
        )
        if n:  # the first list is the warm-up
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            db_cpu += backend_cpu(connection) - db_before
        if response.status_code != 200 or response.json()["created"] != size:
            print(response.content[:500].decode(), file=sys.stderr)
            return 1
    print(
        json.dumps(
            {"lists": lists, "size": size, "seconds": seconds, "cpu_seconds": cpu,
             "db_cpu_seconds": db_cpu}
        )
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
