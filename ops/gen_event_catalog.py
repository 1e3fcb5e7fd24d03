"""Write docs/events.md from the event classes, so the catalog never drifts from the code.

Run: .venv/bin/python ops/gen_event_catalog.py  (tests/test_event_docs.py checks it is current)
"""

from __future__ import annotations

import sys
import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path

from pydantic.fields import FieldInfo

from domain.events import catalog
from domain.events.base import DomainEvent, EventValue, all_event_classes

EMITTERS: dict[str, tuple[str, str]] = {
    "StrategyRunStarted": ("trading engine, when a backtest/paper/live run starts", "run-{run_id}"),
    "StrategyRunStopped": ("trading engine, when a run ends", "run-{run_id}"),
    "RunFailed": (
        "trading engine, when a strategy raises or the run's store writer/store fails",
        "run-{run_id}",
    ),
    "BarClosed": (
        "trading engine, for each bar fed to strategies (optional in backtests)",
        "run-{run_id}",
    ),
    "SignalGenerated": ("a strategy, through the trading engine", "run-{run_id}"),
    "PortfolioValued": (
        "trading engine, each valuation interval of bar time and at the end of a run",
        "run-{run_id}",
    ),
    "RiskDecisionMade": ("risk engine, for every order intent", "run-{run_id}"),
    "RiskLimitsChanged": ("risk engine, on an operator's limit-change command", "run-{run_id}"),
    "TradingStateChanged": (
        "risk engine, on an operator command or an automatic rule",
        "run-{run_id}",
    ),
    "KillSwitchEngaged": ("risk engine, on an operator command or a breach", "run-{run_id}"),
    "KillSwitchReleased": ("risk engine, on an operator command", "run-{run_id}"),
    "OperatorCommandRequested": (
        "`lh ctl`, an operator's request to a running session",
        "control-{run_id}",
    ),
    "OperatorCommandApplied": (
        "the paper session, after a request's outcome (caused by the request)",
        "run-{run_id}",
    ),
    "OperatorCommandRejected": (
        "the paper session, for a request it cannot apply (caused by the request)",
        "run-{run_id}",
    ),
    "OrderSubmitted": ("trading engine, after an approving risk decision", "order-{order_id}"),
    "OrderAccepted": ("venue adapter", "order-{order_id}"),
    "OrderRejected": ("venue adapter", "order-{order_id}"),
    "OrderPartiallyFilled": ("venue adapter", "order-{order_id}"),
    "OrderFilled": ("venue adapter", "order-{order_id}"),
    "OrderCancelRequested": (
        "order manager (strategy, operator, kill switch, run stopped or failed)",
        "order-{order_id}",
    ),
    "OrderCanceled": ("venue adapter", "order-{order_id}"),
    "OrderExpired": ("venue adapter", "order-{order_id}"),
    "FillRecorded": ("venue adapter, one per execution", "order-{order_id}"),
    "VenueConnectionChanged": ("live venue adapters (none ships yet)", "venue-{venue}"),
    "ReconciliationCompleted": ("recovery, after a restart", "venue-{venue}"),
    "RunSnapshotSaved": (
        "live session, every N bar times (the bytes go to the object store, checked against it)",
        "run-{run_id}",
    ),
    "VenueReportUnmatched": (
        "order manager, for a venue report on an order the run does not track",
        "run-{run_id}",
    ),
    "AccountFunded": (
        "trading engine, with a backtest's or paper run's simulated capital",
        "run-{run_id} (simulated runs)",
    ),
    "BalanceAdjusted": ("treasury/operator tooling (no command ships yet)", "account-{account}"),
}

HEADER = """# Event catalog

Generated from `domain/events/catalog.py` by `ops/gen_event_catalog.py`; do not edit by hand.

Every fact is one immutable event in a stream (aggregate). The **envelope** around each payload
holds: stream id, stream version (1, 2, … per stream; optimistic concurrency), global position
(gapless, assigned by the store), event type, schema version, event time (venue or simulated
clock, UTC µs), recorded time (UTC µs), causation id (the event that caused it), correlation id
(the run or session), actor (kind, name, account), the payload and the payload's sha256 over its
canonical JSON (sorted keys, no spaces, decimals as strings).

Prices, quantities and money are exact decimals, written as JSON strings. NaN, infinities and
(where marked `> 0`) zero or negative values are refused when the event is built.

Older schema versions stay in the log as written; they are upcast when read
(`domain/events/base.py: upcaster`).
"""


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(arg) for arg in args)}]"
    if annotation is type(None):
        return "null"
    if annotation is Decimal:
        return "decimal"
    if annotation is datetime:
        return "UTC datetime"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return f"{annotation.__name__} ({', '.join(str(member.value) for member in annotation)})"
    return getattr(annotation, "__name__", str(annotation))


def _constraint(field: FieldInfo) -> str:
    notes = [str(meta) for meta in field.metadata if type(meta).__name__ in ("Gt", "Ge")]
    return ", ".join(
        note.replace("Gt(gt=", "> ").replace("Ge(ge=", ">= ").rstrip(")") for note in notes
    )


def _fields(cls: type[DomainEvent | EventValue]) -> list[str]:
    rows = ["| field | type | notes |", "|---|---|---|"]
    hints = typing.get_type_hints(cls, include_extras=True)
    if not hasattr(cls, "model_fields"):  # a typed dict: every key required, no defaults
        rows += [f"| `{name}` | {_type_name(hint)} |  |" for name, hint in hints.items()]
        return rows
    for name, field in cls.model_fields.items():
        notes = _constraint(field)
        if not field.is_required():
            notes = ", ".join(
                filter(None, [notes, f"default {field.get_default(call_default_factory=True)!r}"])
            )
        rows.append(f"| `{name}` | {_type_name(hints[name])} | {notes} |")
    return rows


def render() -> str:
    lines = [HEADER]
    classes = all_event_classes()
    missing = sorted(set(classes) - set(EMITTERS))
    if missing:
        raise SystemExit(f"add emitter and stream for: {', '.join(missing)}")
    lines.append("## Index\n")
    lines.append("| event | stream | emitted by | schema |")
    lines.append("|---|---|---|---|")
    for name, cls in classes.items():
        emitter, stream = EMITTERS[name]
        lines.append(
            f"| [{name}](#{name.lower()}) | `{stream}` | {emitter} | v{cls.schema_version} |"
        )
    for name, cls in classes.items():
        emitter, stream = EMITTERS[name]
        doc = " ".join((cls.__doc__ or "").split())
        lines += [
            "",
            f"## {name}",
            "",
            doc,
            "",
            f"Stream `{stream}`; emitted by {emitter}; schema version {cls.schema_version}.",
            "",
        ]
        lines += _fields(cls)
    for value in (catalog.OrderIntent, catalog.RuleOutcome):
        doc = " ".join((value.__doc__ or "").split())
        lines += ["", f"## {value.__name__} (nested value)", "", doc, ""]
        lines += _fields(value)
    lines += [
        "",
        "## Upcasters",
        "",
        '- `StrategyRunStarted` v1 → v2: `strategy_hash` is `""` (not recorded).',
        "- `FillRecorded` v1 → v2: `commission` renamed to `fee`; `fee_currency` defaults to "
        "`USD`, `liquidity` to `TAKER`.",
        "- `RiskDecisionMade` v1 → v2: `order_id` is the approved order's id "
        "(`domain.ids.legacy_order_id`: decision `<run>-d<n>` approved order `<run>-o<n>`), "
        "`null` for a rejection.",
        "- `OrderCancelRequested` v1 → v2: `origin` from what v1 engines wrote: "
        "`requested_by` `engine` with reason `run stopped` / `run failed` is `run_stopped` / "
        "`run_failed`, a reason starting `kill switch: ` is `kill_switch`, anything else "
        "`strategy` (v1 offered no other way to cancel).",
        "",
        "## Byte changes",
        "",
        "A run recorded by this build writes the same bytes as before for every event except: "
        "`RiskDecisionMade` (schema 2, payload gains `order_id`) and `OrderCancelRequested` "
        "(schema 2, payload gains `origin`), and the envelope of an operator's cancel names the "
        "operator as its actor (v1 named the strategy; no v1 command issued one). Every other "
        "envelope (ids, versions, times, causation, actors) is unchanged. Old runs read back "
        "upcast to exactly what this build writes for the same facts, so a run recorded "
        "before resumes: recovery compares a replay with the upcast form of older events.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    target = Path(__file__).resolve().parent.parent / "docs" / "events.md"
    text = render()
    if "--check" in sys.argv:
        raise SystemExit(0 if target.read_text() == text else "docs/events.md is out of date")
    target.write_text(text)


if __name__ == "__main__":
    main()
