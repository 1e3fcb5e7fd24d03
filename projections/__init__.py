"""Read models built from the log: SQL current state, ClickHouse analytics, object store."""
