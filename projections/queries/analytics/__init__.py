"""Named analytics queries over the ClickHouse facts, and guarded ad-hoc read-only SQL."""

from projections.queries.analytics.filters import FilterError, Filters, interval_seconds, parse_time
from projections.queries.analytics.queries import QUERIES, NamedQuery
from projections.queries.analytics.readonly import ReadOnlyViolationError, ensure_read_only
from projections.queries.analytics.run import (
    QueryResult,
    UnknownQueryError,
    named_query,
    run_named,
    run_sql,
)

__all__ = [
    "QUERIES",
    "FilterError",
    "Filters",
    "NamedQuery",
    "QueryResult",
    "ReadOnlyViolationError",
    "UnknownQueryError",
    "ensure_read_only",
    "interval_seconds",
    "named_query",
    "parse_time",
    "run_named",
    "run_sql",
]
