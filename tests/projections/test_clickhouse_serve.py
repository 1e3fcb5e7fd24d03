"""What the process holding an embedded chDB database serves to other processes' readers.

The reader here is a ``RemoteClient`` on the holder's socket in the same process: the same
socket and frames another process uses (tests/projections/test_follow_embedded.py runs them).
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.clickhouse import ClickHouseProjection, wire
from projections.clickhouse.holder import holder, socket_path
from projections.clickhouse.remote import RemoteClient
from projections.queries.analytics import Filters, run_named
from projections.queries.analytics.readonly import ReadOnlyViolationError
from tests.analytics.support import chunks, synthetic_events


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[ClickHouseProjection, RemoteClient]]:
    projection = ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}")
    for batch in chunks(synthetic_events(300), 2_000):
        projection.apply(batch)
    engine = str(tmp_path / "analytics")
    remote = RemoteClient.connect(socket_path(engine), os.getpid())
    assert remote is not None
    yield projection, remote
    remote.close()
    projection.close()


def test_the_holder_is_found_and_answers_with_the_same_values(
    held: tuple[ClickHouseProjection, RemoteClient], tmp_path: Path
) -> None:
    projection, remote = held
    assert holder(str(tmp_path / "analytics")) == os.getpid()
    for name in ("pnl_by_day", "equity_curve", "exposure", "ohlcv"):
        direct = run_named(projection.client, name, Filters())
        through = run_named(remote, name, Filters())
        assert through == direct and direct.rows  # Decimals, datetimes: exactly the same


def test_the_holder_serves_reads_only(held: tuple[ClickHouseProjection, RemoteClient]) -> None:
    projection, remote = held
    before = projection.row_counts()
    for statement in (
        "DROP TABLE fills",
        "INSERT INTO fills SELECT * FROM fills",
        "ALTER TABLE fills DELETE WHERE 1",
        "SELECT * FROM fills INTO OUTFILE 'stolen.csv'",
        "SELECT 1; DROP TABLE fills",
        "SELECT replaceAll(file('/proc/self/environ'), char(0), char(10))",
    ):
        with pytest.raises(ReadOnlyViolationError):
            remote.query(statement)
    assert remote.query("SELECT 1 AS one").result_rows == [(1,)]  # still serving
    assert projection.row_counts() == before


def test_frames_decode_values_never_objects() -> None:
    left, right = socket.socketpair()
    with left, right:
        payload = pickle.dumps(os.system)  # a callable: what a hostile frame would carry
        left.sendall(struct.pack(">I", len(payload)) + payload)
        with pytest.raises(wire.WireError, match="refused to decode"):
            wire.receive(right)


def test_closing_the_holder_removes_its_socket(tmp_path: Path) -> None:
    engine = tmp_path / "analytics"
    projection = ClickHouseProjection.open(f"chdb://{engine}")
    assert socket_path(str(engine)).exists()
    projection.close()
    assert not socket_path(str(engine)).exists()
    assert RemoteClient.connect(socket_path(str(engine)), os.getpid()) is None
