"""Run a command and print JSON {returncode, peak_rss_kib, output}: the command's own peak memory.

usage: peak_rss.py TIMEOUT_SECONDS LIMIT_MIB COMMAND [ARG ...]

A child's ``ru_maxrss`` starts at its parent's resident size when it was forked, so a command
started straight from a big process (pytest with Django and a test database) would report at
least that. This small interpreter sits in between: the command forked from it reports its own.
``LIMIT_MIB`` (0 for none) caps the command's address space, so that a regression fails the test
with a MemoryError instead of taking the machine's memory; ``TIMEOUT_SECONDS`` kills it.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading


def main() -> int:
    timeout, limit_mib, *command = sys.argv[1:]
    limit = int(limit_mib) * 2**20

    def cap_memory() -> None:
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=cap_memory
        )
        timer = threading.Timer(float(timeout), process.kill)
        timer.start()
        try:
            # wait4 reaps this one child and returns its own resource usage.
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    print(
        json.dumps(
            {
                "returncode": os.waitstatus_to_exitcode(status),
                "peak_rss_kib": usage.ru_maxrss,  # KiB on Linux
                "output": text,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
