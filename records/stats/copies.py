"""The skill and agent links of a search's copied matches (records.stats.searched), copied the
first time a read asks for them.

Only the insights (the rankings of skills and agents) read links; the KPIs, trend, task types
and models do not, and a panel fetched alone (the dashboard polls each one) then skips the two
statements that join every copied match to its links (130 ms for the 15,000 matches of a week
and the week before at a million records on PostgreSQL). Which slots have their links is known
per thread: slots are never reused in a process, so a connection that went away leaves nothing
wrong behind.
"""

from __future__ import annotations

import threading

from django.db import connection

from records.models import (
    RecordAgent,
    RecordSkill,
    SearchedAgent,
    SearchedRecord,
    SearchedSkill,
    slot_ids,
)

# subject -> (the copy's link model, the stored link model, the name column)
LINKS = {
    "skills": (SearchedSkill, RecordSkill, "skill_id"),
    "agents": (SearchedAgent, RecordAgent, "agent_id"),
}
_local = threading.local()


def ensure_links(slot: int, subject: str) -> None:
    """Copy the skill (``subject`` "skills") or agent ("agents") links of the slot's records,
    unless this thread did already: one statement."""
    done = getattr(_local, "done", None)
    if done is None:
        done = _local.done = set()
    if (slot, subject) in done:
        return
    link, stored, name = LINKS[subject]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(link._meta.db_table)} ({qn('record_id')}, {qn(name)}) "
            f"SELECT s.{qn('id')}, l.{qn(name)} FROM {qn(SearchedRecord._meta.db_table)} s "
            f"INNER JOIN {qn(stored._meta.db_table)} l ON l.{qn('record_id')} = s.{qn('source')} "
            f"WHERE s.{qn('id')} BETWEEN %s AND %s",
            slot_ids(slot),
        )
    done.add((slot, subject))
