"""``ClickHouseProjection``: the analytics read model, fed exactly once per event.

Exactly once, even across a crash mid-batch:

1. ``apply`` drops events at or below the checkpoint (normal re-delivery costs nothing);
2. it inserts the batch's fact rows, table by table, and only then the checkpoint row;
3. a crash between 2's inserts and the checkpoint leaves rows above the checkpoint. On the
   next ``open`` they are deleted (``ALTER TABLE ... DELETE WHERE position > checkpoint``,
   synchronously), and the runner re-delivers them. Should any survive (a crash during that
   delete), the re-inserted rows are identical to them, ReplacingMergeTree collapses them, and
   every named query reads with ``FINAL`` — so no path double counts.

The checkpoint lives in ClickHouse (``projection_checkpoints``) next to the rows, and the
identity of the event store they came from in ``projection_sources`` (inserted once, before
the first checkpoint written for that store).

An embedded (chDB) database can be open in one process only: the process that opens it serves
read-only queries to others (``serve``), and a projection opened while another process holds
the database is a read-only view through that process (``view_of`` names it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.events.envelope import RecordedEvent, from_microseconds
from projections.clickhouse.client import open_client, open_reader, parse_clickhouse_url
from projections.clickhouse.remote import RemoteClient
from projections.clickhouse.rows import ROUTES, build_tables
from projections.clickhouse.schema import FACT_TABLES, create_schema, drop_schema
from projections.clickhouse.serve import QueryServer
from projections.clickhouse.verify import mismatches
from projections.queries.state import LogState

log = logging.getLogger(__name__)


class ReadModelHeldError(RuntimeError):
    """A write to an embedded database another process holds (this projection is a view)."""


class ClickHouseProjection:
    """Fact tables for analytics in ClickHouse (or chDB), with their checkpoint beside them."""

    def __init__(
        self, client: Any, *, name: str = "clickhouse", target: str = "", read_only: bool = False
    ) -> None:
        ROUTES.check()
        self.name = name
        self.client = client
        self.target = target
        self.rows_last_batch = 0
        self.view_of: int | None = client.holder_pid if isinstance(client, RemoteClient) else None
        self._server: QueryServer | None = None
        if self.view_of is None:
            create_schema(client)
        self._checkpoint = self._read_checkpoint()
        self._source = self._read_source()
        self._store_id: str | None = None
        # Rows above the checkpoint are a crashed writer's, or (on a server) those a running
        # writer is inserting right now: only a writer removes them, never a reader.
        writer = self.view_of is None and not read_only
        self.recovered_rows = self._delete_rows_above_checkpoint() if writer else 0

    @classmethod
    def open(
        cls, url: str, *, create: bool = False, read_only: bool = False
    ) -> ClickHouseProjection:
        """Open the analytics database named by ``LH_CLICKHOUSE_URL``; ``create`` creates a
        missing one on a server (an embedded chDB database is always created). While another
        process holds an embedded database, the projection is a read-only view through it.
        ``read_only`` (status, verify) reads a chDB directory it cannot write from a copy and
        serves no other process."""
        target = parse_clickhouse_url(url)
        client = open_reader(url, create_database=True if create else None, read_only=read_only)
        try:
            projection = cls(client, target=target.describe(), read_only=read_only)
            if target.embedded and projection.view_of is None and not read_only:
                projection._serve(url, target.path)
        except Exception:
            client.close()  # chDB keeps its engine (and its path) while any client is open
            raise
        return projection

    def _serve(self, url: str, engine_path: str) -> None:
        """Answer other processes' reads while this one holds the embedded database."""
        server = QueryServer(open_client(url, create_database=False), engine_path)
        try:
            server.start()
        except OSError as error:  # the read model works; other processes just cannot query
            log.warning("cannot serve queries to other processes: %s", error)
            server.client.close()
            return
        self._server = server

    def checkpoint(self) -> int:
        return self._checkpoint

    def source(self) -> str | None:
        return self._source

    def attach(self, store_id: str) -> None:
        self._store_id = store_id
        if self._checkpoint and self._source is None and self.view_of is None:
            self._record_source()

    def _record_source(self) -> None:
        self.client.insert(
            "projection_sources",
            [[self.name, self._store_id, datetime.now(UTC)]],
            column_names=["name", "store_id", "updated_at"],
        )
        self._source = self._store_id

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        self._check_writable()
        fresh = [event for event in batch if event.position > self._checkpoint]
        if not fresh:
            self.rows_last_batch = 0
            return
        _check_order(fresh)
        rows = self._insert_facts(fresh)
        last = fresh[-1]
        if self._store_id is not None and self._store_id != self._source:
            self._record_source()
        self.client.insert(
            "projection_checkpoints",
            [[self.name, last.position, from_microseconds(last.recorded_time_us)]],
            column_names=["name", "position", "updated_at"],
        )
        self._checkpoint = last.position
        self.rows_last_batch = rows

    def _insert_facts(self, events: Sequence[RecordedEvent]) -> int:
        """Insert every fact table of ``events`` (one bulk Arrow insert each); returns rows."""
        tables = build_tables(events)
        for table, data in tables.items():
            self.client.insert_arrow(table, data)
        return sum(data.num_rows for data in tables.values())

    def reset(self) -> None:
        self._check_writable()
        drop_schema(self.client)
        create_schema(self.client)
        self._checkpoint = 0
        self._source = None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.client.close()
        self.client.close()

    def _check_writable(self) -> None:
        if self.view_of is not None:
            raise ReadModelHeldError(
                f"{self.target} is held by process {self.view_of} (`lh projections run`?): "
                "only that process may write it; stop it first"
            )

    def row_counts(self) -> dict[str, int]:
        """Deduplicated rows per fact table."""
        return {
            table: int(self.client.query(f"SELECT count() FROM {table} FINAL").result_rows[0][0])
            for table in FACT_TABLES
        }

    def mismatches(self, state: LogState) -> list[str]:
        """Differences against ``state`` folded from the log up to ``checkpoint()``; [] if none."""
        return mismatches(self.client, state, self._checkpoint)

    def _read_checkpoint(self) -> int:
        rows = self.client.query(
            "SELECT max(position) FROM projection_checkpoints WHERE name = {name:String}",
            parameters={"name": self.name},
        ).result_rows
        return int(rows[0][0]) if rows else 0

    def _read_source(self) -> str | None:
        rows = self.client.query(
            "SELECT argMax(store_id, updated_at) FROM projection_sources "
            "WHERE name = {name:String} GROUP BY name",
            parameters={"name": self.name},
        ).result_rows
        return str(rows[0][0]) if rows else None

    def _delete_rows_above_checkpoint(self) -> int:
        """Remove rows a crash left above the checkpoint; returns how many there were."""
        removed = 0
        for table in FACT_TABLES:
            count = int(
                self.client.query(
                    f"SELECT count() FROM {table} WHERE position > {{cp:UInt64}}",
                    parameters={"cp": self._checkpoint},
                ).result_rows[0][0]
            )
            if count:
                self.client.command(
                    f"ALTER TABLE {table} DELETE WHERE position > {{cp:UInt64}}",
                    parameters={"cp": self._checkpoint},
                    settings={"mutations_sync": 2},
                )
                removed += count
        return removed


def _check_order(events: Sequence[RecordedEvent]) -> None:
    previous = 0
    for event in events:
        if event.position <= previous:
            raise ValueError(
                f"events must arrive in position order: {event.position} after {previous}"
            )
        previous = event.position
