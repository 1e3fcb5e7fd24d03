"""The filing pack (``lh report filing``): a programmatic-trading declaration.

Account and funds, the strategies with their type (name and description), parameters and
modes, the declared maximum order rate and daily message count against what the log shows
(orders plus cancels, per second and per UTC day), and the software with its version. The
declaration is versioned by the hash of what it declares; it is flagged when observed
behaviour exceeds it. Declared limits are the scope's thresholds (``--max-per-second``,
``--max-per-day``). Cancels are orders canceled (one per order, ``OrderCanceled``).

The report reads runs and orders from the SQL read model, funding from the log (which the read
model keeps no history of); ``replay_filing`` recomputes every figure from the log alone.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from domain.events.envelope import from_microseconds, to_microseconds
from domain.strategy.registry import registered
from projections.queries.reports.document import (
    Chart,
    ChartKind,
    Figure,
    ReportDocument,
    Section,
    Series,
    Table,
)
from projections.queries.reports.numbers import amount, instant
from projections.queries.reports.software import SOFTWARE, software_version
from projections.queries.reports.source import ReportScope, ReportSource
from projections.sql.models import ORDERS, RUNS

SECOND_US = 1_000_000
FUNDING = ("AccountFunded", "BalanceAdjusted")


@dataclass
class RunFact:
    run_id: str
    account: str
    strategy: str
    mode: str
    symbols: tuple[str, ...]
    params: dict[str, str]


@dataclass
class FilingFacts:
    """What the declaration's figures come from, fed from the read model or from the log."""

    funds: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    runs: list[RunFact] = field(default_factory=list)
    per_second: Counter[int] = field(default_factory=Counter)
    per_day: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def message(self, time_us: int, kind: str) -> None:
        """An order (``orders``) or a cancel (``cancels``) in the period."""
        self.per_second[time_us // SECOND_US] += 1
        self.per_day[from_microseconds(time_us).date().isoformat()][kind] += 1

    def declaration(self, scope: ReportScope) -> dict[str, Any]:
        strategies = sorted({run.strategy for run in self.runs})
        return {
            "account": scope.account or "all",
            "strategies": {
                name: sorted(
                    {json.dumps(r.params, sort_keys=True) for r in self.runs if r.strategy == name}
                )
                for name in strategies
            },
            "declared_orders_per_second": scope.thresholds.orders_per_second,
            "declared_messages_per_day": scope.thresholds.messages_per_day,
            "software": f"{SOFTWARE} {software_version()}",
        }

    def figures(self, scope: ReportScope) -> dict[str, str]:
        peak_second, peak = max(
            self.per_second.items(), key=lambda i: (i[1], -i[0]), default=(0, 0)
        )
        totals = {day: sum(counts.values()) for day, counts in self.per_day.items()}
        busiest_day, busiest = max(totals.items(), key=lambda i: (i[1], i[0]), default=("", 0))
        limits = scope.thresholds
        exceeded = peak > limits.orders_per_second or busiest > limits.messages_per_day
        declared = json.dumps(self.declaration(scope), sort_keys=True).encode()
        found = {
            "filing.declaration_version": hashlib.sha256(declared).hexdigest()[:16],
            "filing.declared_orders_per_second": str(limits.orders_per_second),
            "filing.declared_messages_per_day": str(limits.messages_per_day),
            "filing.observed_peak_per_second": str(peak),
            "filing.observed_peak_second": instant(peak_second * SECOND_US) if peak else "",
            "filing.observed_max_per_day": str(busiest),
            "filing.observed_busiest_day": busiest_day,
            "filing.orders": str(sum(c["orders"] for c in self.per_day.values())),
            "filing.cancels": str(sum(c["cancels"] for c in self.per_day.values())),
            "filing.strategies": str(len({run.strategy for run in self.runs})),
            "filing.runs": str(len(self.runs)),
            "filing.exceeds_declaration": "yes" if exceeded else "no",
        }
        for (account, currency), total in sorted(self.funds.items()):
            found[f"filing.funds.{account}.{currency}"] = amount(total)
        return found


LABELS = {
    "declaration_version": "declaration version (hash of what is declared)",
    "declared_orders_per_second": "declared maximum orders + cancels per second",
    "declared_messages_per_day": "declared maximum orders + cancels per day",
    "observed_peak_per_second": "observed peak orders + cancels in one second",
    "observed_peak_second": "second of the observed peak",
    "observed_max_per_day": "observed maximum orders + cancels in one day",
    "observed_busiest_day": "busiest day",
    "orders": "orders submitted",
    "cancels": "orders canceled",
    "strategies": "strategies",
    "runs": "strategy runs",
    "exceeds_declaration": "observed behaviour exceeds the declaration",
}


def _funding(facts: FilingFacts, scope: ReportScope, source: ReportSource) -> None:
    for event in source.events(FUNDING, history=True):
        data = event.data
        if scope.selects(data["account"], None):
            facts.funds[(data["account"], data["currency"])] += Decimal(str(data["amount"]))


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _micros(value: datetime) -> int:
    return to_microseconds(value.replace(tzinfo=UTC))


def _read_model_facts(engine: Engine, scope: ReportScope) -> FilingFacts:
    facts = FilingFacts()
    start, end = _naive(scope.start), _naive(scope.end)
    runs = select(RUNS).where(RUNS.c.started_at < end).order_by(RUNS.c.started_at, RUNS.c.run_id)
    orders = select(
        ORDERS.c.account, ORDERS.c.strategy, ORDERS.c.submitted_at, ORDERS.c.canceled_at
    ).where(ORDERS.c.submitted_at < end)
    with engine.connect() as connection:
        for row in connection.execute(runs).mappings():
            if scope.selects(row["account"], row["strategy"]):
                facts.runs.append(
                    RunFact(
                        row["run_id"],
                        row["account"],
                        row["strategy"],
                        row["mode"],
                        tuple(json.loads(row["symbols"])),
                        json.loads(row["params"]),
                    )
                )
        for row in connection.execute(orders).mappings():
            if not scope.selects(row["account"], row["strategy"]):
                continue
            if row["submitted_at"] >= start:
                facts.message(_micros(row["submitted_at"]), "orders")
            canceled = row["canceled_at"]
            if canceled is not None and start <= canceled < end:
                facts.message(_micros(canceled), "cancels")
    return facts


def replay_filing(source: ReportSource, scope: ReportScope) -> dict[str, str]:
    """Every filing figure from the store's events alone."""
    facts = FilingFacts()
    owners: dict[str, tuple[str, str]] = {}
    kinds = ("StrategyRunStarted", "OrderSubmitted", "OrderCanceled", *FUNDING)
    for event in source.events(kinds, history=True):
        data = event.data
        kind = event.event_type
        if kind in FUNDING:
            if scope.selects(data["account"], None):
                facts.funds[(data["account"], data["currency"])] += Decimal(str(data["amount"]))
            continue
        if kind == "OrderCanceled":
            owner = owners.get(data["order_id"])
            if owner is not None and scope.selects(*owner) and scope.contains(event.event_time_us):
                facts.message(event.event_time_us, "cancels")
            continue
        if not scope.selects(data["account"], data["strategy"]):
            continue
        if kind == "StrategyRunStarted":
            facts.runs.append(
                RunFact(
                    data["run_id"],
                    data["account"],
                    data["strategy"],
                    str(data["mode"]),
                    tuple(data["symbols"]),
                    dict(data["params"]),
                )
            )
        else:
            owners[data["order_id"]] = (data["account"], data["strategy"])
            if scope.contains(event.event_time_us):
                facts.message(event.event_time_us, "orders")
    return facts.figures(scope)


def _description(strategy: str) -> str:
    found = registered().get(strategy)
    doc = None if found is None else found.__doc__
    return doc.strip().splitlines()[0] if doc else "user strategy (not built in)"


def build_filing_report(source: ReportSource, scope: ReportScope) -> ReportDocument:
    if source.engine is None:
        raise ValueError("the filing pack reads the SQL read model: no engine given")
    facts = _read_model_facts(source.engine, scope)
    _funding(facts, scope, source)
    figures = facts.figures(scope)
    first, last = source.covered()
    exceeded = figures["filing.exceeds_declaration"] == "yes"
    days = sorted(facts.per_day)
    limits = scope.thresholds
    return ReportDocument(
        kind="filing",
        title="Programmatic-trading declaration",
        scope=(*scope.as_pairs(), ("first_position", str(first)), ("last_position", str(last))),
        sections=(
            Section(
                name="declaration",
                title="Declaration",
                figures=tuple(
                    Figure(name, _label(name), value)
                    for name, value in figures.items()
                    if not name.startswith("filing.funds.")
                ),
                notes=(
                    "FLAGGED: observed behaviour exceeds the declaration."
                    if exceeded
                    else "Observed behaviour stays within the declaration.",
                    "Messages are orders submitted plus orders canceled, by event time (UTC).",
                ),
            ),
            Section(
                name="funds",
                title="Account and funds (funding and adjustments before the period's end)",
                figures=tuple(
                    Figure(name, f"funds {name.split('.', 2)[2]}", value)
                    for name, value in figures.items()
                    if name.startswith("filing.funds.")
                ),
            ),
            Section(
                name="strategies",
                title="Strategies",
                tables=(
                    Table(
                        "strategies",
                        "Strategy runs started before the period's end",
                        ("run", "account", "strategy", "description", "mode", "symbols", "params"),
                        tuple(
                            (
                                run.run_id,
                                run.account,
                                run.strategy,
                                _description(run.strategy),
                                run.mode,
                                " ".join(run.symbols),
                                json.dumps(run.params, sort_keys=True),
                            )
                            for run in facts.runs
                        ),
                    ),
                ),
            ),
            Section(
                name="message_rate",
                title="Observed message rate",
                tables=(
                    Table(
                        "daily",
                        "Orders and cancels per UTC day",
                        ("day", "orders", "cancels", "total", "over the daily declaration"),
                        tuple(
                            (
                                day,
                                str(facts.per_day[day]["orders"]),
                                str(facts.per_day[day]["cancels"]),
                                str(total := sum(facts.per_day[day].values())),
                                "yes" if total > limits.messages_per_day else "no",
                            )
                            for day in days
                        ),
                    ),
                ),
                charts=(
                    Chart(
                        "messages_per_day",
                        "Orders + cancels per day",
                        ChartKind.BARS,
                        (
                            Series(
                                "messages",
                                tuple(days),
                                tuple(str(sum(facts.per_day[d].values())) for d in days),
                            ),
                        ),
                    ),
                )
                if days
                else (),
            ),
        ),
    )


def _label(name: str) -> str:
    return LABELS[name.removeprefix("filing.")]
