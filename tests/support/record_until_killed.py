"""Writer process for crash tests: record tasks through the Python API until killed.

usage: record_until_killed.py PREFIX

Prints each record id on its own line, flushed, the moment ``record_task_performance`` returns
it: a printed id is an acknowledged record, which must survive a SIGKILL at any instant.
"""

import random
import sys

import django


def main() -> int:
    (prefix,) = sys.argv[1:2]
    django.setup()
    from records.recorder import record_task_performance
    from tests.support.post_records import task

    rng = random.Random(prefix)
    for i in range(1_000_000):
        data = task(prefix, i, rng)
        model = data.pop("model_used")
        print(record_task_performance(data, model), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
