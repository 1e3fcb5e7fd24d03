"""The two LiangHua dashboards: system health (Prometheus) and trading overview (the ClickHouse
fact tables, with the sessions' live risk from Prometheus). docs/operations.md describes
every panel; ``lh grafana provision`` uploads them, ops/grafana/dashboards/ holds their JSON
for Grafana's file provisioning in the compose stack."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as board

from infra.observability.grafana.panels import (
    CLICKHOUSE,
    PROMETHEUS,
    ClickHouseSql,
    as_json,
    at,
    promql,
    thresholds,
)

FOLDER_UID = "lianghua"
FOLDER_TITLE = "LiangHua"
LH_JOBS = '{job=~"lh-.*"}'


def _board(uid: str, title: str, description: str) -> board.Dashboard:
    return (
        board.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["lianghua"])
        .timezone("utc")
        .refresh("30s")
        .time("now-6h", "now")
        .editable()
    )


def system_health() -> dict[str, Any]:
    """Is every process up and keeping up: appends, projection lag, memory, CPU, disk, seals."""
    up = (
        stat.Panel()
        .title("Components up")
        .description("1 per scraped LiangHua process that answered its last scrape, 0 when down.")
        .datasource(PROMETHEUS)
        .with_target(promql(f"up{LH_JOBS}", "{{job}} {{instance}}"))
        .thresholds(thresholds((None, "red"), (1, "green")))
    )
    firing = (
        stat.Panel()
        .title("Alerts firing")
        .description("Alerts Prometheus currently fires (ops/prometheus/rules).")
        .datasource(PROMETHEUS)
        .with_target(promql('count(ALERTS{alertstate="firing"}) or vector(0)'))
        .thresholds(thresholds((None, "green"), (1, "red")))
    )
    appends = (
        timeseries.Panel()
        .title("Events appended per second")
        .description("Events recorded in the event store, by process.")
        .datasource(PROMETHEUS)
        .unit("ops")
        .with_target(promql("sum by (job) (rate(lh_events_appended_total[1m]))", "{{job}}"))
    )
    latency = (
        timeseries.Panel()
        .title("Append latency")
        .description("p50 and p99 wall time of one append (a batch) through the event store.")
        .datasource(PROMETHEUS)
        .unit("s")
        .with_target(
            promql(
                "histogram_quantile(0.5, sum by (le) (rate(lh_append_seconds_bucket[5m])))", "p50"
            )
        )
        .with_target(
            promql(
                "histogram_quantile(0.99, sum by (le) (rate(lh_append_seconds_bucket[5m])))",
                "p99",
                "B",
            )
        )
    )
    lag_events = (
        timeseries.Panel()
        .title("Projection lag (events)")
        .description("Events in the log each read model has not applied yet (head - checkpoint).")
        .datasource(PROMETHEUS)
        .with_target(promql("max by (projection) (lh_projection_lag_events)", "{{projection}}"))
    )
    lag_seconds = (
        timeseries.Panel()
        .title("Projection lag (seconds)")
        .description("How long each read model has been behind the log; the alert fires over 5 s.")
        .datasource(PROMETHEUS)
        .unit("s")
        .thresholds(thresholds((None, "green"), (5, "red")))
        .with_target(promql("max by (projection) (lh_projection_lag_seconds)", "{{projection}}"))
    )
    memory = (
        timeseries.Panel()
        .title("Process memory (RSS)")
        .description("Resident memory of each LiangHua process; the alert fires over 2 GB.")
        .datasource(PROMETHEUS)
        .unit("bytes")
        .with_target(promql(f"process_resident_memory_bytes{LH_JOBS}", "{{job}} {{instance}}"))
    )
    cpu = (
        timeseries.Panel()
        .title("Process CPU")
        .description("CPU seconds per second used by each LiangHua process (1 = one core).")
        .datasource(PROMETHEUS)
        .unit("percentunit")
        .with_target(
            promql(f"rate(process_cpu_seconds_total{LH_JOBS}[1m])", "{{job}} {{instance}}")
        )
    )
    disk = (
        bargauge.Panel()
        .title("Disk free")
        .description("Free fraction of each host filesystem; the alert fires under 10%.")
        .datasource(PROMETHEUS)
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(thresholds((None, "red"), (0.1, "orange"), (0.2, "green")))
        .with_target(
            promql(
                'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}'
                ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}',
                "{{mountpoint}}",
            )
        )
    )
    seal = (
        stat.Panel()
        .title("Since the last archive seal")
        .description("Time since the scheduled sealer last sealed successfully.")
        .datasource(PROMETHEUS)
        .unit("s")
        .thresholds(thresholds((None, "green"), (3600, "red")))
        .with_target(promql("time() - max(lh_archive_last_seal_timestamp_seconds)"))
    )
    dashboard = (
        _board(
            "lh-system-health",
            "LiangHua / System health",
            "Every LiangHua process: up, appends, projection lag, memory, CPU, disk, archive.",
        )
        .with_panel(at(up, x=0, y=0, w=12, h=5))
        .with_panel(at(firing, x=12, y=0, w=6, h=5))
        .with_panel(at(seal, x=18, y=0, w=6, h=5))
        .with_panel(at(appends, x=0, y=5, w=12))
        .with_panel(at(latency, x=12, y=5, w=12))
        .with_panel(at(lag_events, x=0, y=13, w=12))
        .with_panel(at(lag_seconds, x=12, y=13, w=12))
        .with_panel(at(memory, x=0, y=21, w=8))
        .with_panel(at(cpu, x=8, y=21, w=8))
        .with_panel(at(disk, x=16, y=21, w=8))
    )
    return as_json(dashboard)


EQUITY_SQL = ClickHouseSql(
    """
    SELECT event_time AS time, run_id, toFloat64(equity) AS equity
    FROM portfolio_values FINAL
    WHERE $__timeFilter(event_time)
    ORDER BY time
    """
)
PNL_BY_DAY_SQL = ClickHouseSql(
    """
    SELECT toDate(event_time) AS day, run_id,
           toFloat64(argMax(realized_pnl + unrealized_pnl, position)) AS pnl
    FROM portfolio_values FINAL
    WHERE $__timeFilter(event_time)
    GROUP BY day, run_id
    ORDER BY day, run_id
    """,
    table=True,
)
FILLS_SQL = ClickHouseSql(
    """
    SELECT toStartOfHour(event_time) AS time, strategy, count() AS fills
    FROM fills FINAL
    WHERE $__timeFilter(event_time)
    GROUP BY time, strategy
    ORDER BY time
    """
)
NOTIONAL_SQL = ClickHouseSql(
    """
    SELECT symbol, toFloat64(sum(notional)) AS notional, toFloat64(sum(fee)) AS fees,
           count() AS fills
    FROM fills FINAL
    WHERE $__timeFilter(event_time)
    GROUP BY symbol
    ORDER BY notional DESC
    """,
    table=True,
)
REJECTIONS_SQL = ClickHouseSql(
    """
    SELECT rule, count() AS rejections
    FROM risk_decisions FINAL
    ARRAY JOIN rule, rule_passed
    WHERE approved = 0 AND rule_passed = 0 AND $__timeFilter(event_time)
    GROUP BY rule
    ORDER BY rejections DESC
    """,
    table=True,
)
LATENCY_SQL = ClickHouseSql(
    """
    SELECT symbol,
           quantile(0.5)(submit_to_first_fill_us) / 1000 AS p50_fill_ms,
           quantile(0.99)(submit_to_first_fill_us) / 1000 AS p99_fill_ms,
           count() AS orders
    FROM order_lifecycle
    WHERE $__timeFilter(submitted_at)
    GROUP BY symbol
    ORDER BY symbol
    """,
    table=True,
)
RUNS_SQL = ClickHouseSql(
    """
    SELECT run_id, anyIf(strategy, kind = 'StrategyRunStarted') AS strategy,
           anyIf(mode, kind = 'StrategyRunStarted') AS mode,
           min(event_time) AS started, argMax(kind, position) AS last_event,
           toFloat64(anyIf(initial_cash, kind = 'StrategyRunStarted')) AS initial_cash,
           toFloat64(anyIf(final_equity, kind = 'StrategyRunStopped')) AS final_equity
    FROM runs FINAL
    GROUP BY run_id
    ORDER BY started DESC
    LIMIT 50
    """,
    table=True,
)
CLICKHOUSE_QUERIES = (
    EQUITY_SQL,
    PNL_BY_DAY_SQL,
    FILLS_SQL,
    NOTIONAL_SQL,
    REJECTIONS_SQL,
    LATENCY_SQL,
    RUNS_SQL,
)


def trading_overview() -> dict[str, Any]:
    """What the strategies did (ClickHouse fact tables) and their live risk (Prometheus)."""
    equity = (
        timeseries.Panel()
        .title("Equity by run")
        .description("Equity at each valuation (portfolio_values), one line per run.")
        .datasource(CLICKHOUSE)
        .unit("currencyUSD")
        .with_target(EQUITY_SQL)
    )
    pnl = (
        table.Panel()
        .title("PnL by day")
        .description("Realized plus unrealized PnL at each run's last valuation of the day.")
        .datasource(CLICKHOUSE)
        .with_target(PNL_BY_DAY_SQL)
    )
    fills = (
        timeseries.Panel()
        .title("Fills per hour")
        .description("Fills recorded per hour, one line per strategy (fills).")
        .datasource(CLICKHOUSE)
        .with_target(FILLS_SQL)
    )
    notional = (
        table.Panel()
        .title("Traded notional and fees by symbol")
        .description("Sum of fill notional and fees, and the fill count, per symbol (fills).")
        .datasource(CLICKHOUSE)
        .with_target(NOTIONAL_SQL)
    )
    rejections = (
        table.Panel()
        .title("Pre-trade rejections by rule")
        .description("Refused order intents per failed risk rule (risk_decisions).")
        .datasource(CLICKHOUSE)
        .with_target(REJECTIONS_SQL)
    )
    latency = (
        table.Panel()
        .title("Order latency to first fill")
        .description("p50 and p99 submit-to-first-fill time per symbol (order_lifecycle view).")
        .datasource(CLICKHOUSE)
        .with_target(LATENCY_SQL)
    )
    runs = (
        table.Panel()
        .title("Recent runs")
        .description("The last 50 runs: strategy, mode, start, last lifecycle event, equity.")
        .datasource(CLICKHOUSE)
        .with_target(RUNS_SQL)
    )
    drawdown = (
        timeseries.Panel()
        .title("Live drawdown by session")
        .description("Fall of equity from its peak in each running session (Prometheus).")
        .datasource(PROMETHEUS)
        .unit("percentunit")
        .with_target(promql("max by (run_id) (lh_session_drawdown_ratio)", "{{run_id}}"))
    )
    risk = (
        stat.Panel()
        .title("Kill switches and breached loss limits")
        .description("Accounts whose kill switch is engaged plus loss limits breached now.")
        .datasource(PROMETHEUS)
        .thresholds(thresholds((None, "green"), (1, "red")))
        .with_target(
            promql(
                "(sum(lh_kill_switch_engaged) or vector(0))"
                " + (sum(lh_risk_limit_breached) or vector(0))"
            )
        )
    )
    dashboard = (
        _board(
            "lh-trading-overview",
            "LiangHua / Trading overview",
            "Equity, PnL, fills, notional, rejections and latency from the ClickHouse read "
            "model; live drawdown and risk state from the sessions' metrics.",
        )
        .with_panel(at(equity, x=0, y=0, w=16, h=9))
        .with_panel(at(risk, x=16, y=0, w=8, h=4))
        .with_panel(at(drawdown, x=16, y=4, w=8, h=5))
        .with_panel(at(pnl, x=0, y=9, w=12))
        .with_panel(at(fills, x=12, y=9, w=12))
        .with_panel(at(notional, x=0, y=17, w=12))
        .with_panel(at(rejections, x=12, y=17, w=12))
        .with_panel(at(latency, x=0, y=25, w=12))
        .with_panel(at(runs, x=12, y=25, w=12))
    )
    return as_json(dashboard)


def dashboards() -> list[dict[str, Any]]:
    return [system_health(), trading_overview()]
