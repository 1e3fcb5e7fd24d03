"""The compliance report of a generated multi-day PAPER session (``session.py``): every
section holds what the session did, and every figure equals the independent replay's, for the
whole run and for each of its days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.queries.audit import trace
from projections.queries.reports.compliance import build_compliance_report
from projections.queries.reports.compliance.replay import replay_figures
from projections.queries.reports.document import ReportDocument, Table
from projections.queries.reports.source import ReportScope, ReportSource, Thresholds
from tests.reports.session import RUN_ID, record_session

FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
WASH = Thresholds(wash_window_us=3_600_000_000)  # an hour: the session trades every 30 min


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    opened = open_event_store(f"sqlite:///{tmp_path_factory.mktemp('session') / 'log.sqlite'}")
    record_session(opened)
    yield opened
    opened.close()


def generate(
    store: EventStore, days: int = 3, start: int = 0, **scope: str
) -> tuple[ReportDocument, dict[str, str]]:
    source = ReportSource.open(
        store,
        ReportScope(
            "compliance",
            FIRST_DAY + timedelta(days=start),
            FIRST_DAY + timedelta(days=start + days),
            **scope,
            thresholds=WASH,
        ),
    )
    return build_compliance_report(source, source.scope), replay_figures(source, source.scope)


@pytest.fixture(scope="module")
def run_report(store: EventStore) -> tuple[ReportDocument, dict[str, str]]:
    return generate(store, run=RUN_ID)


def rows(table: Table) -> list[dict[str, str]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def tables(document: ReportDocument) -> dict[str, Table]:
    return {table.name: table for section in document.sections for table in section.tables}


def test_every_figure_equals_the_replay_for_the_run_and_each_day(
    store: EventStore, run_report: tuple[ReportDocument, dict[str, str]]
) -> None:
    document, replayed = run_report
    assert document.figures() == replayed
    assert dict(document.scope)["account"] == RUN_ID  # the run resolved to its account
    for day in range(3):
        daily, replayed_daily = generate(store, days=1, start=day, account=RUN_ID)
        assert daily.figures() == replayed_daily, day


def test_the_session_is_on_record(run_report: tuple[ReportDocument, dict[str, str]]) -> None:
    document = run_report[0]
    figures, by_name = document.figures(), tables(document)
    # Partial fills under the volume cap: orders with more than one fill.
    fills_per_order = Counter(fill["order_id"] for fill in rows(by_name["audit.fills"]))
    assert max(fills_per_order.values()) > 1
    assert all(
        order["rules"] and order["signal_id"] for order in rows(by_name["audit.order_causes"])
    )
    # Rejections by the tightened size limit, the kill switch and the REDUCING state.
    rejected = {row["rule"] for row in rows(by_name["controls.rejections"])}
    assert {"max_order_quantity", "kill_switch", "trading_state"} <= rejected
    assert [
        (r["old_value"], r["new_value"], r["operator"], r["reason"])
        for r in rows(by_name["controls.limit_changes"])
    ] == [("1000000", "2", "alice", "tighten"), ("2", "1000000", "alice", "restore")]
    assert [(r["event"], r["operator"]) for r in rows(by_name["controls.kill_switch"])] == [
        ("kill switch engaged", "bob"),
        ("kill switch released", "bob"),
    ]
    assert [r["new_value"] for r in rows(by_name["controls.trading_state"])] == ["REDUCING"]
    # Kill-switch cancels are counted apart, strategy cancels and instant cancels too.
    assert int(figures["flow.kill_switch_cancels"]) > 0
    assert int(figures["flow.cancels"]) > 0 and int(figures["flow.instant_cancels"]) > 0
    assert int(figures["flow.messages"]) == sum(
        int(figures[name]) for name in ("flow.orders", "flow.cancels", "flow.kill_switch_cancels")
    )
    assert [row["day"] for row in rows(by_name["flow.daily"]) if row["symbol"] == "ALL"] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    # Bars were recorded: the interval VWAP is there.
    assert int(figures["tca.vwap_orders"]) > 0


def test_each_exception_traces_back_to_its_signal_in_the_log(
    store: EventStore, run_report: tuple[ReportDocument, dict[str, str]]
) -> None:
    document = run_report[0]
    findings = rows(tables(document)["exceptions.findings"])
    wash = [finding for finding in findings if finding["check"] == "wash_like"]
    assert wash
    for finding in wash[:3]:
        chain = trace(store, fill_id=finding["fill_id"])
        ids = {
            event.data.get(key)
            for event in chain
            for key in ("order_id", "decision_id", "signal_id")
        }
        assert {finding["order_id"], finding["decision_id"], finding["signal_id"]} <= ids


def test_the_same_log_gives_the_same_report(
    store: EventStore, run_report: tuple[ReportDocument, dict[str, str]]
) -> None:
    assert generate(store, run=RUN_ID)[0] == run_report[0]
