"""``SqlProjection``: the current-state read model, applied exactly once per event.

Each ``apply`` is one transaction: lock the checkpoint row, drop events at or below it, load the
rows the batch changes, fold the batch in memory, write it back with bulk upserts, move the
checkpoint. A crash anywhere rolls the whole batch back, so no event is applied twice or skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, delete, select, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from domain.accounting import Lot, LotQueue
from domain.events.envelope import RecordedEvent
from projections.queries.state import LogState
from projections.sql import migrate
from projections.sql.engine import (
    SqlReadModelError,
    create_read_model_engine,
    unwritable_sqlite_file,
)
from projections.sql.fold import ROUTES, BatchFold, Row, needed_keys
from projections.sql.models import (
    CASH,
    CHECKPOINTS,
    DECISIONS,
    FILLS,
    KILL_LOG,
    LIMIT_CHANGES,
    LIMITS,
    LOTS,
    ORDERS,
    OUTCOMES,
    POSITIONS,
    RUNS,
    TRADING,
    VIEW_TABLES,
)
from projections.sql.mysql_bulk import write_rows

ZERO = Decimal(0)
_IN_CHUNK = 500  # keys per IN (...) lookup
_LOT_PAGE = 64  # lots per first lookup of a position's oldest lots (doubles after)
_LOTS_BY_KEY = (
    select(LOTS.c.opened_position, LOTS.c.quantity, LOTS.c.price)
    .where(
        LOTS.c.account == bindparam("account"),
        LOTS.c.strategy == bindparam("strategy"),
        LOTS.c.symbol == bindparam("symbol"),
        LOTS.c.opened_position > bindparam("after"),
    )
    .order_by(LOTS.c.opened_position)
    .limit(bindparam("page"))
)
_DELETE_CONSUMED = delete(LOTS).where(
    and_(
        LOTS.c.account == bindparam("b_account"),
        LOTS.c.strategy == bindparam("b_strategy"),
        LOTS.c.symbol == bindparam("b_symbol"),
        LOTS.c.opened_position <= bindparam("b_opened_position"),
    )
)


class PositionGapError(RuntimeError):
    """A batch does not continue exactly after the checkpoint; applying it would skip events."""


class SqlProjection:
    """Orders, fills, positions, cash, risk decisions, runs, limits and the kill-switch log."""

    def __init__(self, engine: Engine, *, name: str = "sql", read_only: bool = False) -> None:
        ROUTES.check()
        self.engine = engine
        self.name = name
        self.read_only = read_only
        self.url = engine.url.render_as_string(hide_password=True)
        self._mysql = engine.dialect.name in ("mysql", "mariadb")
        self._store_id: str | None = None

    @classmethod
    def open(
        cls, url: str, *, name: str = "sql", create: bool = False, read_only: bool = False
    ) -> SqlProjection:
        """Connect and migrate to head; ``create`` creates a missing MySQL database (a SQLite
        file is always created). ``read_only`` opens a SQLite file it cannot write read-only
        and migrates nothing (status and verify on a read-only ``LH_VAR_DIR``)."""
        reading = read_only and unwritable_sqlite_file(url) is not None
        engine = create_read_model_engine(url, create=create, read_only=reading)
        try:
            if reading:
                _check_schema(engine, url)
            else:
                migrate.upgrade(engine)
            return cls(engine, name=name, read_only=reading)
        except BaseException:
            engine.dispose()
            raise

    # --- the Projection protocol ----------------------------------------------------------

    def checkpoint(self) -> int:
        with self.engine.connect() as connection:
            return self._read_checkpoint(connection, lock=False)

    def source(self) -> str | None:
        with self.engine.connect() as connection:
            return self._read_source(connection)

    def attach(self, store_id: str) -> None:
        self._store_id = store_id
        if not self.read_only and self.checkpoint() and self.source() is None:  # built before ids
            writer = self.engine.connect().execution_options(lh_write=True)
            with writer as connection, connection.begin():
                connection.execute(
                    update(CHECKPOINTS)
                    .where(CHECKPOINTS.c.name == self.name, CHECKPOINTS.c.store_id.is_(None))
                    .values(store_id=store_id)
                )

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        if not batch:
            return
        writer = self.engine.connect().execution_options(lh_write=True)
        with writer as connection, connection.begin():
            done = self._read_checkpoint(connection, lock=True)
            events = [event for event in batch if event.position > done]
            if not events:
                return
            _check_contiguous(done, events)
            fold = self._load(connection, events)
            fold.apply(events)
            self._write(connection, fold)
            source = self._store_id or self._read_source(connection)
            self._write_checkpoint(connection, events[-1].position, source)

    def reset(self) -> None:
        """Drop every table (alembic downgrade to base) and create them again, empty."""
        migrate.downgrade(self.engine)
        migrate.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def mismatches(self, state: LogState) -> list[str]:
        from projections.sql.verify import sql_mismatches

        return sql_mismatches(self, state)

    # --- checkpoint -----------------------------------------------------------------------

    def _read_checkpoint(self, connection: Connection, *, lock: bool) -> int:
        query = select(CHECKPOINTS.c.position).where(CHECKPOINTS.c.name == self.name)
        if lock and self._mysql:
            query = query.with_for_update()
        found = connection.execute(query).scalar()
        return int(found or 0)

    def _read_source(self, connection: Connection) -> str | None:
        query = select(CHECKPOINTS.c.store_id).where(CHECKPOINTS.c.name == self.name)
        found = connection.execute(query).scalar()
        return None if found is None else str(found)

    def _write_checkpoint(self, connection: Connection, position: int, source: str | None) -> None:
        row = {
            "name": self.name,
            "position": position,
            "updated_at": _utc_now(),
            "store_id": source,
        }
        self._upsert(connection, CHECKPOINTS, [row])

    # --- load the rows a batch changes ----------------------------------------------------

    def _load(self, connection: Connection, events: Sequence[RecordedEvent]) -> BatchFold:
        keys = needed_keys(events)
        fold = BatchFold()
        for row in self._rows(connection, ORDERS, [ORDERS.c.order_id], keys.orders):
            fold.orders[row["order_id"]] = row
        position_key = [POSITIONS.c.account, POSITIONS.c.strategy, POSITIONS.c.symbol]
        for row in self._rows(connection, POSITIONS, position_key, keys.positions):
            key = (row["account"], row["strategy"], row["symbol"])
            fold.positions[key] = row
            held = row["quantity"]
            lots = _oldest_lots(connection, key, keys.closable(key, held))
            fold.lots[key] = LotQueue(lots, held, row["cost_basis"])
            fold.loaded[key] = {lot.opened for lot in lots}
        for row in self._rows(connection, CASH, [CASH.c.account, CASH.c.currency], keys.cash):
            fold.cash[(row["account"], row["currency"])] = row
        for row in self._rows(connection, RUNS, [RUNS.c.run_id], keys.runs):
            fold.runs[row["run_id"]] = row
        for row in self._rows(connection, TRADING, [TRADING.c.account], keys.trading):
            fold.trading[row["account"]] = row
        return fold

    @staticmethod
    def _rows(
        connection: Connection, table: Table, columns: list[Any], keys: Iterable[Any]
    ) -> Iterable[Row]:
        wanted = list(keys)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            where = columns[0].in_(chunk) if len(columns) == 1 else tuple_(*columns).in_(chunk)
            for found in connection.execute(select(table).where(where)).mappings():
                yield dict(found)

    # --- write ----------------------------------------------------------------------------

    def _write(self, connection: Connection, fold: BatchFold) -> None:
        self._upsert(connection, ORDERS, list(fold.orders.values()))
        self._upsert(connection, POSITIONS, list(fold.positions.values()))
        consumed, kept = fold.lot_changes()
        if consumed:
            connection.execute(
                _DELETE_CONSUMED,
                [{f"b_{name}": value for name, value in row.items()} for row in consumed],
            )
        self._upsert(connection, LOTS, kept)
        self._upsert(connection, CASH, list(fold.cash.values()))
        self._upsert(connection, RUNS, list(fold.runs.values()))
        self._upsert(connection, TRADING, list(fold.trading.values()))
        self._upsert(connection, LIMITS, list(fold.limits.values()))
        for table, rows in (
            (FILLS, fold.fills),
            (DECISIONS, fold.decisions),
            (OUTCOMES, fold.outcomes),
            (LIMIT_CHANGES, fold.limit_changes),
            (KILL_LOG, fold.kill_log),
        ):
            if rows:
                self._insert(connection, table, rows)

    def _insert(self, connection: Connection, table: Table, rows: list[Row]) -> None:
        if self._mysql:
            write_rows(connection, table, rows, upsert=False)
        else:
            connection.execute(table.insert(), rows)

    def _upsert(self, connection: Connection, table: Table, rows: list[Row]) -> None:
        if not rows:
            return
        keys = {column.name for column in table.primary_key.columns}
        if self._mysql:
            write_rows(connection, table, rows, upsert=True)
        else:
            sqlite_stmt = sqlite_insert(table)
            updates = {c.name: sqlite_stmt.excluded[c.name] for c in table.c if c.name not in keys}
            connection.execute(
                sqlite_stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), rows
            )

    def view_tables(self) -> tuple[Table, ...]:
        return VIEW_TABLES


def _oldest_lots(
    connection: Connection, key: tuple[str, str, str], closable: Decimal
) -> deque[Lot]:
    """A position's oldest open lots, just enough to cover ``closable`` (all if fewer)."""
    lots: deque[Lot] = deque()
    covered = ZERO
    after, page = -1, _LOT_PAGE
    params = {"account": key[0], "strategy": key[1], "symbol": key[2]}
    while covered < closable:
        rows = connection.execute(_LOTS_BY_KEY, {**params, "after": after, "page": page}).all()
        for opened, quantity, price in rows:
            lots.append(Lot(quantity, price, opened))
            covered += abs(quantity)
            if covered >= closable:
                break
        if len(rows) < page:
            break
        after, page = rows[-1][0], page * 2
    return lots


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _check_contiguous(done: int, events: Sequence[RecordedEvent]) -> None:
    expected = done + 1
    for event in events:
        if event.position != expected:
            raise PositionGapError(
                f"expected the event at position {expected} next, got {event.position}: "
                "the batch would skip or reorder events; read from the checkpoint"
            )
        expected += 1


def _check_schema(engine: Engine, url: str) -> None:
    """A read-only file cannot be migrated: refuse an older schema rather than misread it."""
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current != head:
        raise SqlReadModelError(
            f"LH_SQL_URL: the read model {url} has schema revision {current}, this version "
            f"reads {head}, and it cannot be written to upgrade it: run `lh projections run` "
            "once with write access"
        )
