"""The ClickHouse read model in chDB: facts, checkpoint, idempotence and verification."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from domain.events.envelope import RecordedEvent
from projections.clickhouse import (
    ClickHouseProjection,
    ClickHouseUnavailableError,
    parse_clickhouse_url,
)
from projections.clickhouse.rows import ROUTES, build_tables
from projections.queries.analytics import run_named
from projections.queries.state import fold
from tests.analytics.support import chunks, synthetic_events

BARS = 400


@pytest.fixture
def projection(tmp_path: Path) -> Iterator[ClickHouseProjection]:
    opened = ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}")
    yield opened
    opened.close()


def expected_rows(events: Sequence[RecordedEvent] | None = None) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for event in synthetic_events(BARS) if events is None else events:
        route = ROUTES.handler(event)
        if route:
            counts[route[0]] += 1
    return dict(counts)


def test_every_fact_lands_once_and_matches_the_log(projection: ClickHouseProjection) -> None:
    events = synthetic_events(BARS)
    for batch in chunks(events, 1_000):
        projection.apply(batch)

    assert projection.checkpoint() == len(events)
    assert projection.row_counts() == expected_rows()
    assert projection.mismatches(fold(events)) == []


def test_a_redelivered_batch_changes_nothing(projection: ClickHouseProjection) -> None:
    events = synthetic_events(BARS)
    batches = chunks(events, 700)
    for batch in batches[:3]:
        projection.apply(batch)

    projection.apply(batches[1])  # fully below the checkpoint
    projection.apply(batches[2] + batches[3])  # straddles it

    so_far = [event for batch in batches[:4] for event in batch]
    assert projection.checkpoint() == so_far[-1].position
    assert projection.row_counts() == expected_rows(so_far)
    raw = projection.client.query("SELECT count() FROM order_events").result_rows[0][0]
    assert raw == expected_rows(so_far)["order_events"]  # skipped, not merely collapsed
    for batch in batches[4:]:
        projection.apply(batch)
    assert projection.row_counts() == expected_rows()
    assert projection.mismatches(fold(events)) == []


def test_rows_left_by_a_crash_above_the_checkpoint_are_removed_on_open(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'analytics'}"
    events = synthetic_events(BARS)
    half = len(events) // 2
    projection = ClickHouseProjection.open(url)
    projection.apply(list(events[:half]))
    # What a process killed after its fact inserts but before the checkpoint row leaves behind:
    for table, data in build_tables(events[half:]).items():
        projection.client.insert_arrow(table, data)
    orphans = f"SELECT count() FROM fills WHERE position > {half}"
    assert projection.client.query(orphans).result_rows[0][0] > 0
    projection.close()

    # A reader (status, verify) never removes them: on a server they may be a live writer's.
    reader = ClickHouseProjection.open(url, read_only=True)
    try:
        assert reader.recovered_rows == 0
        assert reader.client.query(orphans).result_rows[0][0] > 0
        assert reader.mismatches(fold(events[:half])) == []  # verify reads to its checkpoint
    finally:
        reader.close()

    reopened = ClickHouseProjection.open(url)
    try:
        assert reopened.checkpoint() == half
        assert reopened.recovered_rows > 0
        assert reopened.client.query(orphans).result_rows[0][0] == 0
        reopened.apply(list(events))  # the runner re-delivers from the checkpoint
        assert reopened.row_counts() == expected_rows()
        assert reopened.mismatches(fold(events)) == []
    finally:
        reopened.close()


def test_duplicate_rows_at_or_below_the_checkpoint_are_collapsed_by_final(
    projection: ClickHouseProjection,
) -> None:
    """Belt and braces: if rows were re-inserted anyway, queries read them once."""
    events = synthetic_events(BARS)
    projection.apply(list(events))
    fill_rate = run_named(projection.client, "fill_rate").rows
    for table, data in build_tables(events).items():
        projection.client.insert_arrow(table, data)
    raw = projection.client.query("SELECT count() FROM fills").result_rows[0][0]

    assert raw == 2 * expected_rows()["fills"]
    assert projection.row_counts() == expected_rows()
    assert projection.mismatches(fold(events)) == []
    assert run_named(projection.client, "fill_rate").rows == fill_rate


def test_mismatches_reports_a_missing_fill(projection: ClickHouseProjection) -> None:
    events = synthetic_events(BARS)
    projection.apply(list(events))
    first_fill = next(event for event in events if event.event_type == "FillRecorded")
    projection.client.command(
        f"ALTER TABLE fills DELETE WHERE position = {first_fill.position} "
        "SETTINGS mutations_sync = 2"
    )

    problems = projection.mismatches(fold(events))

    strategy, symbol = first_fill.data["strategy"], first_fill.data["symbol"]
    assert f"fills {strategy}/{symbol} count" in " ".join(problems)
    assert any(problem.startswith("position ") for problem in problems)


def test_reset_drops_rows_and_checkpoint(projection: ClickHouseProjection) -> None:
    projection.apply(list(synthetic_events(BARS)))
    projection.reset()
    assert projection.checkpoint() == 0
    assert set(projection.row_counts().values()) == {0}


def test_clickhouse_urls_parse_and_bad_ones_fail_clearly(tmp_path: Path) -> None:
    embedded = parse_clickhouse_url(f"chdb://{tmp_path}/ch")
    assert (embedded.scheme, embedded.path, embedded.database) == (
        "chdb",
        str(tmp_path / "ch"),
        "lianghua",
    )
    server = parse_clickhouse_url("http://analyst:s3cret@ch.internal:8123/research")
    assert (server.host, server.port, server.username, server.password, server.database) == (
        "ch.internal",
        8123,
        "analyst",
        "s3cret",
        "research",
    )
    assert "s3cret" not in server.describe()
    assert parse_clickhouse_url("https://ch.internal").port == 8443
    with pytest.raises(ValueError, match="LH_CLICKHOUSE_URL"):
        parse_clickhouse_url("mysql://x")
    with pytest.raises(ValueError, match="database name"):
        parse_clickhouse_url("http://ch.internal:8123/bad-name;drop")


def test_an_unreachable_server_fails_clearly_without_the_password() -> None:
    with pytest.raises(ClickHouseUnavailableError, match="LH_CLICKHOUSE_URL") as raised:
        ClickHouseProjection.open("http://analyst:s3cret@127.0.0.1:1/research")
    assert "s3cret" not in str(raised.value)
    assert "analyst@127.0.0.1:1/research" in str(raised.value)
