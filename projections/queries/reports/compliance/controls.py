"""Section 2, pre-trade control activity: what the risk rules stopped (by rule, symbol and
strategy), every limit change with its old and new value, kill-switch engagements and
releases, and trading-state changes, each with its operator and reason."""

from __future__ import annotations

from collections import Counter

from projections.queries.reports.compliance.facts import (
    KILL_SWITCH_ENGAGED,
    KILL_SWITCH_RELEASED,
    LIMIT_CHANGED,
    STATE_CHANGED,
    ComplianceFacts,
    ControlFact,
)
from projections.queries.reports.compliance.format import when
from projections.queries.reports.document import Figure, Section, Table


def _control_rows(controls: list[ControlFact], *kinds: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            when(control.time_us),
            control.kind,
            control.account,
            control.subject,
            control.old_value,
            control.new_value,
            control.operator,
            control.reason,
        )
        for control in controls
        if control.kind in kinds
    )


def controls_section(facts: ComplianceFacts) -> Section:
    by_rule: Counter[str] = Counter()
    by_rule_symbol_strategy: Counter[tuple[str, str, str]] = Counter()
    for decision in facts.decisions:
        for rule in decision.failed_rules:
            by_rule[rule["rule"]] += 1
            by_rule_symbol_strategy[(rule["rule"], decision.symbol, decision.strategy)] += 1
    kinds = Counter(control.kind for control in facts.controls)
    control_columns = (
        "time",
        "event",
        "account",
        "limit",
        "old_value",
        "new_value",
        "operator",
        "reason",
    )
    return Section(
        name="pre_trade_controls",
        title="Pre-trade control activity",
        figures=(
            Figure(
                "controls.rejected_intents",
                "Intents rejected by a risk rule",
                str(sum(not decision.approved for decision in facts.decisions)),
            ),
            *(
                Figure(f"controls.rejections.{rule}", f"Rejections by {rule}", str(count))
                for rule, count in sorted(by_rule.items())
            ),
            Figure("controls.limit_changes", "Limit changes", str(kinds[LIMIT_CHANGED])),
            Figure(
                "controls.kill_switch_engaged",
                "Kill-switch engagements",
                str(kinds[KILL_SWITCH_ENGAGED]),
            ),
            Figure(
                "controls.kill_switch_released",
                "Kill-switch releases",
                str(kinds[KILL_SWITCH_RELEASED]),
            ),
            Figure(
                "controls.trading_state_changes", "Trading-state changes", str(kinds[STATE_CHANGED])
            ),
        ),
        tables=(
            Table(
                "controls.rejections",
                "Rejections by rule, symbol and strategy",
                ("rule", "symbol", "strategy", "rejections"),
                tuple((*key, str(count)) for key, count in sorted(by_rule_symbol_strategy.items())),
            ),
            Table(
                "controls.limit_changes",
                "Limit changes",
                control_columns,
                _control_rows(facts.controls, LIMIT_CHANGED),
            ),
            Table(
                "controls.kill_switch",
                "Kill-switch engagements and releases",
                control_columns,
                _control_rows(facts.controls, KILL_SWITCH_ENGAGED, KILL_SWITCH_RELEASED),
            ),
            Table(
                "controls.trading_state",
                "Trading-state changes (old_value -> new_value)",
                control_columns,
                _control_rows(facts.controls, STATE_CHANGED),
            ),
        ),
        notes=(
            "A rejected intent counts once under each rule it failed. The risk rules record "
            "pass or fail only: there are no warning outcomes to report.",
        ),
    )
