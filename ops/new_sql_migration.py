"""Generate the SQL read model's next alembic revision from the models (projections/sql/models.py).

Run: .venv/bin/python ops/new_sql_migration.py "what changed"
then review the new file in projections/sql/migrations/versions/, ruff-format it, and run
tests/projections/test_sql_schema.py (it fails while models and migrations differ).
See docs/runbooks/sql-read-model-migrations.md.
"""

from __future__ import annotations

import sys

from projections.sql.migrate import new_revision


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        print('usage: ops/new_sql_migration.py "what changed"', file=sys.stderr)
        return 2
    print(new_revision(sys.argv[1].strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
