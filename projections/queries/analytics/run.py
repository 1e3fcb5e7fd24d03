"""Run a named query or ad-hoc read-only SQL and hand back plain columns and rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.queries.analytics.filters import FilterError, Filters
from projections.queries.analytics.queries import QUERIES, NamedQuery
from projections.queries.analytics.readonly import (
    AD_HOC_SETTINGS,
    MAX_RESULT_ROWS,
    ReadOnlyViolationError,
    ensure_read_only,
)

READ_ONLY = {"readonly": 1}


class UnknownQueryError(LookupError):
    """No named query by that name."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def named_query(name: str) -> NamedQuery:
    try:
        return QUERIES[name]
    except KeyError:
        raise UnknownQueryError(
            f"no analytics query {name!r}; choose from {', '.join(sorted(QUERIES))}"
        ) from None


def run_named(client: Any, name: str, filters: Filters | None = None) -> QueryResult:
    """Run query ``name`` with ``filters`` bound as parameters, in a read-only session."""
    query = named_query(name)
    filters = filters or Filters()
    unsupported = filters.given() - query.filters
    if unsupported:
        raise FilterError(
            f"{name} does not take {', '.join('--' + item for item in sorted(unsupported))} "
            f"(it takes {', '.join('--' + item for item in sorted(query.filters))})"
        )
    parameters = filters.parameters(query.default_interval)
    if filters.run:
        _require_run(client, filters.run)
    result = client.query(query.sql, parameters=parameters, settings=READ_ONLY)
    columns = [column for column in result.column_names if column != "q"]
    keep = [index for index, column in enumerate(result.column_names) if column != "q"]
    return QueryResult(columns, [tuple(row[i] for i in keep) for row in result.result_rows])


def _require_run(client: Any, run: str) -> None:
    """A mistyped run id must not look like a run that did nothing."""
    found = client.query(
        "SELECT count() FROM runs FINAL WHERE run_id = {run:String}",
        parameters={"run": run},
        settings=READ_ONLY,
    ).result_rows[0][0]
    if not found:
        raise FilterError(
            f"--run {run}: no such run in the analytics read model (run ids are printed by "
            "lh backtest and lh optimize; `lh projections run` brings new runs in)"
        )


def run_sql(client: Any, sql: str) -> QueryResult:
    """Run one SELECT over the analytics tables, bounded; else ``ReadOnlyViolationError``."""
    statement = sql if getattr(client, "guards_sql", False) else ensure_read_only(client, sql)
    result = client.query(statement, settings=AD_HOC_SETTINGS)
    if len(result.result_rows) > MAX_RESULT_ROWS:
        raise ReadOnlyViolationError(
            f"the result has more than {MAX_RESULT_ROWS:,} rows; aggregate or add a LIMIT"
        )
    return QueryResult(list(result.column_names), [tuple(row) for row in result.result_rows])
