"""Copy a seeded SQLite benchmark database into an empty, migrated PostgreSQL one.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/perfsite_me_1000000 \
        python bench/sqlite_to_postgres.py /tmp/pb/records-1000000/perfsite.sqlite3

``seed_demo`` writes a record at a time through the rollups; on a loaded 2-core machine a
million records take well over an hour on PostgreSQL. This copies the very same rows (records,
links, names and every rollup table, which the SQLite run computed exactly) with COPY in a few
minutes, so both databases hold identical data for bench_panels.py. The target must be migrated
to the same migration as the source and hold no records; its sequences are moved past the
copied ids and the tables analysed afterwards.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time

# Parents before children (foreign keys), then the rollups.
TABLES = [
    "records_aimodel",
    "records_skill",
    "records_agent",
    "records_taskrecord",
    "records_recordskill",
    "records_recordagent",
    "records_typerollup",
    "records_rollup",
    "records_skillrollup",
    "records_agentrollup",
]


def copy(source: str, url: str) -> None:
    import psycopg

    lite = sqlite3.connect(source)
    with psycopg.connect(url) as pg:
        pg.execute("SET TIME ZONE 'UTC'")  # SQLite holds UTC instants as naive text
        if pg.execute("SELECT count(*) FROM records_taskrecord").fetchone()[0]:
            raise SystemExit("the PostgreSQL database already holds records")
        pg.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        for table in TABLES:
            started = time.perf_counter()
            columns = [row[1] for row in lite.execute(f'PRAGMA table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in columns)
            rows = lite.execute(f'SELECT {names} FROM "{table}"')
            n = 0
            with pg.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as out:
                for row in rows:
                    out.write_row(row)
                    n += 1
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f'COALESCE((SELECT max(id) FROM "{table}"), 1))'
            )
            print(f"{table}: {n:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="The SQLite database file.")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("DATABASE_URL must name the PostgreSQL database to copy into.")
    copy(args.source, url)


if __name__ == "__main__":
    main()
