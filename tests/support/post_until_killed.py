"""Client process for crash tests: POST tasks to /api/records until the server goes away.

usage: post_until_killed.py URL TOKEN PREFIX

Prints the record id of each 201 on its own line, flushed: a printed id is an acknowledged
record. Stops at the first connection error (the server was killed).
"""

import json
import random
import sys
import urllib.error
import urllib.request

from post_records import task


def main() -> int:
    url, token, prefix = sys.argv[1:4]
    rng = random.Random(prefix)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(1_000_000):
        body = json.dumps(task(prefix, i, rng)).encode()
        request = urllib.request.Request(f"{url}/api/records", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status == 201:
                    print(json.load(response)["record_id"], flush=True)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
