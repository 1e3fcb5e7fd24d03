"""Read models built from the log: MySQL/SQLite current state, ClickHouse analytics, object store."""
