"""Each compliance section against figures worked out by hand on a tiny, hand-written log
(the arithmetic is in the comments), and the replay agreeing with every one of them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine

from adapters.objectstore import open_object_store
from api.application.reporting.generate import ReportRefusedError, ReportRequest, generate_report
from api.application.reporting.replay_process import ReplayFailedError
from domain.events.types import OrderType, Side
from infra.eventstore.factory import open_event_store
from projections.queries.reports.compliance import build_compliance_report, generate_compliance
from projections.queries.reports.compliance import facts as facts_module
from projections.queries.reports.compliance import replay as replay_module
from projections.queries.reports.compliance.integrity import ArchiveEvidence, ArchiveSegment
from projections.queries.reports.compliance.replay import replay_figures
from projections.queries.reports.document import ReportDocument, Section
from projections.queries.reports.source import ReportScope, ReportSource, Thresholds
from projections.registry import bind_to_store
from projections.runner import ProjectionRunner
from projections.sql.projection import SqlProjection
from tests.reports.tiny_log import T0, TinyLog, rule

DAY = 86_400
PASS = [rule("max_order_quantity", "4", "10")]


def tiny_log() -> TinyLog:
    log = TinyLog()
    log.bar(60, "X", "101", "99", "100", "10")
    log.decide(60, "1", "X", Side.BUY, "4", "100", "101", PASS)
    log.submit(60, "1", "X", Side.BUY, "4")
    log.accept(60.5, "1")
    log.fill(120, "1", "1", "102", "0.1")
    log.bar(120, "X", "104", "100", "103", "20")  # typical x 3 = 307, x 20 = 6140
    log.fill(180, "1", "2", "103", "0.2")
    log.bar(180, "X", "105", "101", "104", "30")  # typical x 3 = 310, x 30 = 9300
    log.limit(190, "max_order_quantity", "10", "4", "alice", "tighten")
    log.cancel(200, "1", "stale")  # 1 of 4 left, 140 s after submission
    log.decide(
        205, "2", "X", Side.SELL, "5", "104", "104", [rule("max_order_quantity", "5", "4", False)]
    )
    log.decide(210, "3", "X", Side.SELL, "3", "104", "104", PASS, OrderType.LIMIT)
    log.submit(210, "3", "X", Side.SELL, "3", OrderType.LIMIT, "104")
    log.cancel(210.5, "3", "flash")  # an instant cancel: 0.5 s
    log.decide(250, "4", "X", Side.BUY, "1", "104", "104", PASS)
    log.submit(250, "4", "X", Side.BUY, "1")
    kill = log.kill(300, "bob", "drill")
    log.cancel(300, "4", "kill switch: drill", cause=kill)
    log.release(400, "bob", "drill over")
    log.bar(DAY, "X", "109", "108", "109", "5")
    log.decide(DAY, "5", "X", Side.SELL, "3", "109", "109", PASS)
    log.submit(DAY, "5", "X", Side.SELL, "3")
    log.fill(DAY + 60, "5", "3", "110", "0.33")
    log.bar(DAY + 60, "X", "111", "109", "110", "10")  # typical 110
    return log


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('tiny') / 'log.sqlite'}"
    store = open_event_store(url)
    tiny_log().write(store)
    store.close()
    yield url


def report(
    url: str,
    thresholds: Thresholds | None = None,
    days: int = 2,
) -> tuple[ReportDocument, dict[str, str]]:
    store = open_event_store(url)
    try:
        scope = ReportScope(
            "compliance", T0, T0 + timedelta(days=days), thresholds=thresholds or Thresholds()
        )
        source = ReportSource.open(store, scope)
        document = build_compliance_report(source, source.scope)
        replayed = replay_figures(source, source.scope)
        assert generate_compliance(source, source.scope) == (document, replayed)  # one read
        return document, replayed
    finally:
        store.close()


def section(document: ReportDocument, name: str) -> Section:
    return next(s for s in document.sections if s.name == name)


def figures(document: ReportDocument, name: str) -> dict[str, str]:
    return {figure.name: figure.value for figure in section(document, name).figures}


def test_audit_trail_and_controls(store_url: str) -> None:
    document, replayed = report(store_url)
    assert document.figures() == replayed
    assert figures(document, "audit_trail") == {
        "audit.orders": "4",
        "audit.decisions": "5",
        "audit.decisions_rejected": "1",
        "audit.fills": "3",
        "audit.orders_canceled": "3",
        "audit.orders_expired": "0",
        "audit.orders_filled": "1",
        "audit.orders_rejected": "0",
        "audit.orders_open": "0",
    }
    audit = {table.name: table for table in section(document, "audit_trail").tables}
    first = {
        column: value
        for name in ("audit.orders", "audit.order_timeline", "audit.order_causes")
        for column, value in zip(audit[name].columns, audit[name].rows[0], strict=True)
    }
    assert first["operator"] == "strategy:s" and first["venue_order_id"] == "V1"
    assert first["submitted"] == "2024-01-01T00:01:00.000000Z"
    assert first["accepted"] == "2024-01-01T00:01:00.500000Z"
    assert [row[:4] for row in audit["audit.fills"].rows if row[1] == "o1"] == [
        ("f1", "o1", "2024-01-01T00:02:00.000000Z", "1"),
        ("f2", "o1", "2024-01-01T00:03:00.000000Z", "2"),
    ]
    assert (first["status"], first["filled_quantity"]) == ("CANCELED", "3")
    assert first["cancel_requested"] == "2024-01-01T00:03:20.000000Z"
    assert first["rules"] == "max_order_quantity=4/10 PASS"
    assert (first["decision_id"], first["signal_id"], first["signal_reason"]) == (
        "d1",
        "s1",
        "reason 1",
    )
    assert figures(document, "pre_trade_controls") == {
        "controls.rejected_intents": "1",
        "controls.rejections.max_order_quantity": "1",
        "controls.limit_changes": "1",
        "controls.kill_switch_engaged": "1",
        "controls.kill_switch_released": "1",
        "controls.trading_state_changes": "0",
    }
    limits = section(document, "pre_trade_controls").tables[1]
    assert limits.rows == (
        (
            "2024-01-01T00:03:10.000000Z",
            "limit changed",
            "A",
            "max_order_quantity",
            "10",
            "4",
            "alice",
            "tighten",
        ),
    )


def test_order_flow(store_url: str) -> None:
    document, replayed = report(store_url, Thresholds(cancel_ratio=Decimal("0.5")))
    assert document.figures() == replayed
    # Day 1: orders o1 o3 o4 (quantity 8), cancels o1 (1 left) and o3 (3 left), o4 by the
    # kill switch, fills 1 + 2. Day 2: o5 (3), filled. Peak: o3 sent and canceled in second 210.
    assert figures(document, "order_flow") == {
        "flow.orders": "4",
        "flow.cancels": "2",
        "flow.kill_switch_cancels": "1",
        "flow.messages": "7",
        "flow.trades": "3",
        "flow.order_to_trade_number": "2.0000",  # (4 + 2) / 3
        "flow.order_to_trade_volume": "2.5000",  # (11 + 4) / 6
        "flow.cancel_ratio": "0.5000",
        "flow.peak_messages_per_second": "2",
        "flow.max_daily_messages": "6",
        "flow.instant_cancels": "1",
        "flow.flagged_rows": "2",  # day 1's X and ALL rows: cancel ratio 2/3 > 0.5
    }
    day_one = {
        column: value
        for daily in section(document, "order_flow").tables
        for column, value in zip(daily.columns, daily.rows[0], strict=True)
    }
    assert (day_one["day"], day_one["symbol"]) == ("2024-01-01", "X")
    assert day_one["order_to_trade_number"] == "2.5000"  # (3 + 2) / 2
    assert day_one["order_to_trade_volume"] == "4.0000"  # (8 + 4) / 3
    assert day_one["flags"] == "cancel ratio>0.5"


def test_best_execution(store_url: str) -> None:
    document, replayed = report(store_url)
    assert document.figures() == replayed
    # o1 buys 3 of 4: decision 100, arrival 101, fills 102 + 2 x 103 = 308, fees 0.3,
    # ended when the last price was 104. o5 sells 3 at 110 against 109, fee 0.33.
    # o3 and o4 never filled (their decision and end prices are both 104).
    assert figures(document, "best_execution") == {
        "tca.orders": "4",
        "tca.ordered_quantity": "11",
        "tca.filled_quantity": "6",
        "tca.fill_rate": "0.5455",
        "tca.slippage_decision_bps": "79.74",  # (8 - 3) / (300 + 327)
        "tca.slippage_arrival_bps": "31.75",  # (5 - 3) / (303 + 327)
        "tca.slippage_vwap_bps": "-12.52",  # o1: VWAP 15440 / 150 -> -0.8; o5: 0; / 638.8
        "tca.vwap_orders": "2",
        "tca.shortfall_delay": "3",  # (101 - 100) x 3
        "tca.shortfall_impact": "2",  # (308 - 303) - (330 - 327)
        "tca.shortfall_fees": "0.63",
        "tca.shortfall_opportunity": "4",  # (104 - 100) x 1
        "tca.shortfall_total": "9.63",
        "tca.avg_time_to_fill_s": "90.000000",  # (120 + 60) / 2
    }
    o1 = {
        column: value
        for rows in section(document, "best_execution").tables[:2]
        for column, value in zip(rows.columns, rows.rows[0], strict=True)
    }
    assert o1["fill_price"] == "102.66666667"
    assert (o1["slippage_decision_bps"], o1["slippage_arrival_bps"]) == ("266.67", "165.02")
    assert (o1["interval_vwap"], o1["slippage_vwap_bps"]) == ("102.93333333", "-25.91")
    assert o1["shortfall"] == "12.3"


def test_exceptions_with_their_trace(store_url: str) -> None:
    thresholds = Thresholds(
        restricted_symbols=("X",),
        max_position=Decimal(2),
        burst_messages=1,
        wash_window_us=2 * DAY * 1_000_000,
    )
    document, replayed = report(store_url, thresholds)
    assert document.figures() == replayed
    assert figures(document, "exceptions") == {
        "exceptions.restricted_symbol": "4",
        "exceptions.burst": "1",  # second 210: o3 sent and canceled
        "exceptions.wash_like": "1",  # o5's sale a day after o1's purchase
        "exceptions.position_threshold": "1",  # o1's second fill takes the position to 3
        "exceptions.limit_breach": "0",
        "exceptions.total": "7",
    }
    findings = section(document, "exceptions").tables[0]
    position = next(row for row in findings.rows if row[0] == "position_threshold")
    assert position[5:] == ("f2", "o1", "d1", "s1")
    wash = next(row for row in findings.rows if row[0] == "wash_like")
    assert wash[5:] == ("f3", "o5", "d5", "s5") and "f2" in wash[4]


def test_an_order_sent_through_a_kill_switch_is_a_limit_breach(tmp_path: Path) -> None:
    log = TinyLog()
    log.kill(10, "bob", "drill")
    log.decide(20, "1", "X", Side.BUY, "1", "100", "100", PASS)
    log.submit(20, "1", "X", Side.BUY, "1")
    log.venue_reject(21, "1")
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    store = open_event_store(url)
    log.write(store)
    store.close()
    document, replayed = report(url)
    assert document.figures() == replayed
    assert figures(document, "exceptions")["exceptions.limit_breach"] == "1"
    assert figures(document, "audit_trail")["audit.orders_rejected"] == "1"


def test_a_window_reports_only_its_events(store_url: str) -> None:
    document, replayed = report(store_url, days=1)
    assert document.figures() == replayed
    assert figures(document, "order_flow")["flow.orders"] == "3"
    assert figures(document, "integrity") == {
        "integrity.first_position": "1",
        "integrity.last_position": str(len(tiny_log().events) - 7),
        "integrity.events": str(len(tiny_log().events) - 7),
    }


def test_no_vwap_until_a_bar_closes_the_interval_after_the_last_fill(tmp_path: Path) -> None:
    log = TinyLog()
    log.bar(60, "X", "101", "99", "100", "10")
    log.decide(60, "1", "X", Side.BUY, "2", "100", "100", PASS)
    log.submit(60, "1", "X", Side.BUY, "2")
    log.fill(120, "1", "1", "101", "0")
    log.bar(120, "X", "102", "100", "101", "10")
    log.fill(180, "1", "1", "102", "0")  # no bar after it
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    store = open_event_store(url)
    log.write(store)
    store.close()
    document, replayed = report(url)
    assert document.figures() == replayed
    tca = figures(document, "best_execution")
    assert (tca["tca.vwap_orders"], tca["tca.slippage_vwap_bps"]) == ("0", "n/a")


def test_the_integrity_section_shows_the_archive_evidence_it_is_given(store_url: str) -> None:
    evidence = ArchiveEvidence((ArchiveSegment("segments/000001", 1, 40, "ab" * 32),), "ok 1..40")
    store = open_event_store(store_url)
    try:
        scope = ReportScope("compliance", T0, T0 + timedelta(days=2))
        source = ReportSource.open(store, scope)
        integrity = section(build_compliance_report(source, scope, evidence=evidence), "integrity")
    finally:
        store.close()
    assert integrity.tables[0].rows == (("segments/000001", "1", "40", "ab" * 32),)
    assert integrity.notes == ("Chain check: ok 1..40",)


@pytest.mark.parametrize("replay_beside", [True, False], ids=["replay-beside", "one-read"])
def test_a_section_fold_that_changes_the_events_it_reads_is_refused(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replay_beside: bool
) -> None:
    """The replay reads the log in a child process, or (a store that cannot be opened again
    there: here a store with its own clock) in the same read as the sections; either way a
    sections' bug that even rewrites the decoded events in place cannot make the replay agree
    with it (in one read the replay sees each event first)."""
    handlers = dict(facts_module._HANDLERS)
    original = handlers["FillRecorded"]

    def doubled(facts: Any, event: Any, data: dict[str, Any]) -> None:
        data["quantity"] = str(Decimal(data["quantity"]) * 2)
        original(facts, event, data)

    monkeypatch.setitem(facts_module._HANDLERS, "FillRecorded", doubled)
    store = open_event_store(store_url) if replay_beside else open_event_store(store_url, clock=_us)
    assert store.reopenable is replay_beside
    objects = open_object_store(f"file://{tmp_path / 'objects'}")
    request = ReportRequest(ReportScope("compliance", T0, T0 + timedelta(days=2)), ("json",))
    try:
        with pytest.raises(
            ReportRefusedError, match=r"^report not published: figure .*tca\.filled_quantity"
        ):
            generate_report(request, store, create_engine("sqlite://"), objects, now=_now)
    finally:
        store.close()
    assert list(objects.list("reports/")) == []


def test_a_replay_that_fails_in_its_process_is_one_line_and_nothing_is_published(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> dict[str, str]:
        raise ArithmeticError("no figures today")

    monkeypatch.setattr(replay_module, "_figures", broken)  # inherited by the forked child
    store = open_event_store(store_url)
    objects = open_object_store(f"file://{tmp_path / 'objects'}")
    request = ReportRequest(ReportScope("compliance", T0, T0 + timedelta(days=2)), ("json",))
    try:
        with pytest.raises(ReplayFailedError) as refused:
            generate_report(request, store, create_engine("sqlite://"), objects, now=_now)
    finally:
        store.close()
    assert str(refused.value) == (
        "report not published: the replay of the log failed: ArithmeticError: no figures today"
    )
    assert list(objects.list("reports/")) == []


@pytest.mark.parametrize(
    ("kind", "replay_beside"),
    [("compliance", True), ("compliance", False), ("trades", True), ("filing", True)],
)
def test_a_log_edited_in_the_window_is_refused_by_its_chain_check(
    tmp_path: Path, kind: str, replay_beside: bool
) -> None:
    """Checked by the replay's child on the records it reads (every kind), or by the single
    read where the store cannot be opened again in a child."""
    path = tmp_path / "log.sqlite"
    url = f"sqlite:///{path}"
    store = open_event_store(url)
    tiny_log().write(store)
    sql = SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}", create=True)
    bind_to_store([sql], store)
    ProjectionRunner(store, [sql]).catch_up()
    store.close()
    with sqlite3.connect(path) as db:  # as someone with write access to the file would
        (state,) = db.execute("SELECT state FROM stored_events WHERE rowid=3").fetchone()
        record = orjson.loads(state)
        record["payload"]["edited"] = True
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=3",
            (orjson.dumps(record, option=orjson.OPT_SORT_KEYS),),
        )
    store = open_event_store(url) if replay_beside else open_event_store(url, clock=_us)
    objects = open_object_store(f"file://{tmp_path / 'objects'}")
    request = ReportRequest(ReportScope(kind, T0, T0 + timedelta(days=2)), ("json",))
    try:
        with pytest.raises(ReportRefusedError) as refused:
            generate_report(request, store, sql.engine, objects, now=_now)
    finally:
        store.close()
        sql.close()
    assert str(refused.value) == (
        "report not published: the log fails its chain check at position 3 (payload hash); "
        "see lh audit verify"
    )
    assert list(objects.list("reports/")) == []


def _us() -> int:
    return 0


def _now() -> datetime:
    return datetime(2024, 2, 1, tzinfo=UTC)
