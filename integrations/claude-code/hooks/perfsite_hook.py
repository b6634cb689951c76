#!/usr/bin/env python3
"""Claude Code hook entry point (hooks.json runs it with python3 on UserPromptSubmit, Stop and
SessionEnd).

Standard library only. The work is in ../perfsite_recorder; this file puts that folder on the
path, runs it, and exits at once: ``os._exit`` does not wait for a request still stuck in a
name lookup, so the hook never outlives its time budget.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    try:
        from perfsite_recorder.hook import main
    except BaseException:  # a python3 too old for the recorder (3.8+): stay silent and harmless
        os._exit(0)
    os._exit(main())
