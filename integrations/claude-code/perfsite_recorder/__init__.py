"""perfsite-recorder: the Claude Code plugin's hook, which records each turn in Perfsite (and,
with ``PERFSITE_ADVISE=1``, gives the agent Perfsite's advice before each turn: ``advice``).

Standard library only (agent hosts have Python 3, not Django). ``hook.main`` is the entry
point; ``transcript`` reads a session's JSONL, ``tasks`` turns a turn into the task Perfsite's
``POST /api/records`` takes, ``delivery`` sends it or spools it, and ``classification`` is a
verbatim copy of the server's ``records/rules/classification.py`` (a test keeps them equal), used
when ``PERFSITE_SEND_PROMPTS=0`` keeps the prompt on the machine.
"""

__version__ = "0.2.0"
