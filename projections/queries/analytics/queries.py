"""The named analytics queries: SQL over the ClickHouse facts, parameterised, read with FINAL.

Every filter is a bound parameter (``{name:Type}``); user input never becomes SQL text.
Money stays ``Decimal(38, 18)``; only derived ratios (bps, percentages, fill rate) and
latencies are floats. Products of two decimals go through ``Decimal256`` so they cannot
overflow the 38 digits of ``Decimal128``.
"""

from __future__ import annotations

from dataclasses import dataclass

_FROM = "fromUnixTimestamp64Micro({from_us:Int64}, 'UTC')"
_TO = "fromUnixTimestamp64Micro({to_us:Int64}, 'UTC')"


def _in_range(column: str) -> str:
    return f"{column} >= {_FROM} AND {column} < {_TO}"


_STRATEGY = "({strategy:String} = '' OR strategy = {strategy:String})"
_SYMBOL = "({symbol:String} = '' OR symbol = {symbol:String})"
# One run: its valuations and signals carry the run id; fills and orders carry the run's
# account (a backtest's account is its run id), found in the runs table.
_RUN = "({run:String} = '' OR run_id = {run:String})"
_RUN_ACCOUNT = (
    "({run:String} = '' OR account IN (SELECT account FROM runs FINAL WHERE run_id = {run:String}))"
)
_BUCKET = "toStartOfInterval({column}, toIntervalSecond({{step:UInt32}}))"


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    filters: frozenset[str]
    default_interval: str = "1h"


_ALL = frozenset({"from", "to", "strategy", "symbol", "run"})

PNL_BY_DAY = f"""
WITH
    daily AS (
        SELECT run_id, strategy, toDate(event_time) AS day,
               argMax(equity, (event_time, position)) AS equity_close,
               argMax(realized_pnl, (event_time, position)) AS realized_close,
               argMax(fees, (event_time, position)) AS fees_close
        FROM portfolio_values FINAL
        WHERE {_STRATEGY} AND {_RUN}
        GROUP BY run_id, strategy, day
    ),
    starts AS (
        SELECT run_id, any(initial_cash) AS initial_cash
        FROM runs FINAL WHERE kind = 'StrategyRunStarted' GROUP BY run_id
    ),
    changes AS (
        SELECT d.day AS day, d.strategy AS strategy, d.equity_close AS equity_close,
               d.realized_close AS realized_close, d.fees_close AS fees_close,
               row_number() OVER w AS nth,
               lagInFrame(d.equity_close) OVER w AS previous_equity,
               lagInFrame(d.realized_close) OVER w AS previous_realized,
               lagInFrame(d.fees_close) OVER w AS previous_fees,
               ifNull(s.initial_cash, d.equity_close) AS initial_cash
        FROM daily AS d LEFT JOIN starts AS s ON s.run_id = d.run_id
        WINDOW w AS (PARTITION BY d.run_id ORDER BY d.day
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
SELECT day, strategy,
       sum(equity_close - if(nth = 1, initial_cash, previous_equity)) AS pnl,
       sum(realized_close - if(nth = 1, 0, previous_realized)) AS realized_pnl,
       sum(fees_close - if(nth = 1, 0, previous_fees)) AS fees_paid,
       sum(equity_close) AS equity
FROM changes
WHERE day >= toDate32({_FROM}) AND day <= toDate32({_TO} - toIntervalMicrosecond(1))
GROUP BY day, strategy
ORDER BY day, strategy
"""

EQUITY_CURVE = f"""
SELECT event_time AS time, strategy, run_id, equity, peak, equity - peak AS drawdown,
       if(peak > 0, toFloat64(equity) / toFloat64(peak) - 1, 0) AS drawdown_pct
FROM (
    SELECT event_time, position, strategy, run_id, equity,
           max(equity) OVER (PARTITION BY run_id ORDER BY event_time, position
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS peak
    FROM portfolio_values FINAL
    WHERE {_STRATEGY} AND {_RUN} AND {_in_range("event_time")}
)
ORDER BY strategy, run_id, time, position
"""

# Fill -> its order -> the risk decision's reference price, else the signal's bar close.
_SLIPPAGE_FILLS = f"""
    SELECT f.strategy AS strategy, f.symbol AS symbol, f.event_time AS event_time,
           coalesce(d.reference_price, s.bar_close) AS reference,
           if(f.side = 'BUY', 1, -1)
               * (toFloat64(f.price) - toFloat64(reference)) / toFloat64(reference) * 10000
               AS bps
    FROM fills AS f FINAL
    INNER JOIN (
        SELECT order_id, any(decision_id) AS decision_id FROM order_events FINAL
        WHERE kind = 'OrderSubmitted' GROUP BY order_id
    ) AS o ON o.order_id = f.order_id
    LEFT JOIN (
        SELECT decision_id, any(signal_id) AS signal_id, any(reference_price) AS reference_price
        FROM risk_decisions FINAL GROUP BY decision_id
    ) AS d ON d.decision_id = o.decision_id
    LEFT JOIN (
        SELECT signal_id, toNullable(any(bar_close)) AS bar_close
        FROM signals FINAL GROUP BY signal_id
    ) AS s ON s.signal_id = d.signal_id
    WHERE {_STRATEGY.replace("strategy =", "f.strategy =")}
      AND {_SYMBOL.replace("symbol =", "f.symbol =")}
      AND {_RUN_ACCOUNT.replace("OR account", "OR f.account")}
      AND {_in_range("f.event_time")}
"""

SLIPPAGE = f"""
SELECT strategy, symbol, count() AS fills, avg(bps) AS mean_bps,
       quantilesExactInclusive(0.05, 0.25, 0.5, 0.75, 0.95)(bps) AS q,
       q[1] AS p05_bps, q[2] AS p25_bps, q[3] AS p50_bps, q[4] AS p75_bps, q[5] AS p95_bps,
       min(bps) AS min_bps, max(bps) AS max_bps
FROM ({_SLIPPAGE_FILLS})
WHERE reference IS NOT NULL
GROUP BY strategy, symbol
ORDER BY strategy, symbol
"""

LATENCY = f"""
SELECT stage, strategy, count() AS orders,
       quantilesExactInclusive(0.5, 0.9, 0.99)(us) AS q,
       q[1] / 1000 AS p50_ms, q[2] / 1000 AS p90_ms, q[3] / 1000 AS p99_ms,
       max(us) / 1000 AS max_ms
FROM order_lifecycle
ARRAY JOIN
    ['submit_to_accept', 'submit_to_first_fill', 'submit_to_final'] AS stage,
    [submit_to_accept_us, submit_to_first_fill_us, submit_to_final_us] AS us
WHERE us IS NOT NULL AND submitted_at IS NOT NULL
  AND {_STRATEGY} AND {_SYMBOL} AND {_RUN_ACCOUNT} AND {_in_range("submitted_at")}
GROUP BY stage, strategy
ORDER BY stage, strategy
"""

FILL_RATE = f"""
SELECT strategy, symbol, count() AS orders, countIf(filled_quantity > 0) AS orders_filled,
       sum(quantity) AS submitted_qty, sum(filled_quantity) AS filled_qty,
       if(submitted_qty > 0, toFloat64(filled_qty) / toFloat64(submitted_qty), 0) AS fill_rate
FROM order_lifecycle
WHERE submitted_at IS NOT NULL AND {_STRATEGY} AND {_SYMBOL} AND {_RUN_ACCOUNT}
  AND {_in_range("submitted_at")}
GROUP BY strategy, symbol
ORDER BY strategy, symbol
"""

# Position as of the end of each bar bucket (all fills up to it), valued at the bucket's close.
EXPOSURE = f"""
WITH
    flows AS (
        SELECT symbol, {_BUCKET.format(column="event_time")} AS bucket,
               sum(if(side = 'BUY', quantity, -quantity)) AS net
        FROM fills FINAL
        WHERE {_STRATEGY} AND {_SYMBOL} AND {_RUN_ACCOUNT} AND event_time < {_TO}
        GROUP BY symbol, bucket
    ),
    holdings AS (
        SELECT symbol, bucket,
               sum(net) OVER (PARTITION BY symbol ORDER BY bucket
                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS quantity
        FROM flows
    ),
    closes AS (
        SELECT symbol, {_BUCKET.format(column="open_time")} AS bucket,
               argMax(close, open_time) AS close
        FROM bars FINAL
        WHERE {_SYMBOL} AND {_in_range("open_time")}
        GROUP BY symbol, bucket
    )
SELECT c.bucket AS time, c.symbol AS symbol, h.quantity AS position, c.close AS close,
       toDecimal128(toDecimal256(h.quantity, 18) * c.close, 18) AS exposure
FROM closes AS c
ASOF LEFT JOIN holdings AS h ON h.symbol = c.symbol AND c.bucket >= h.bucket
ORDER BY time, symbol
"""

OHLCV = f"""
SELECT {_BUCKET.format(column="open_time")} AS time, symbol, interval AS source_interval,
       argMin(open, open_time) AS open, max(high) AS high, min(low) AS low,
       argMax(close, open_time) AS close, sum(volume) AS volume, count() AS bars
FROM bars FINAL
WHERE {_SYMBOL} AND {_in_range("open_time")}
GROUP BY time, symbol, source_interval
ORDER BY symbol, source_interval, time
"""

QUERIES: dict[str, NamedQuery] = {
    query.name: query
    for query in (
        NamedQuery(
            "pnl_by_day",
            "PnL, realized PnL and fees per strategy and UTC day (from portfolio valuations)",
            PNL_BY_DAY,
            frozenset({"from", "to", "strategy", "run"}),
        ),
        NamedQuery(
            "equity_curve",
            "Equity per valuation with running peak and drawdown (money and percent)",
            EQUITY_CURVE,
            frozenset({"from", "to", "strategy", "run"}),
        ),
        NamedQuery(
            "slippage",
            "Fill price vs the decision's reference price (else signal bar close), in bps, "
            "signed so positive = paid worse",
            SLIPPAGE,
            _ALL,
        ),
        NamedQuery(
            "latency",
            "Order latency percentiles (ms): submit->accept, ->first fill, ->final state",
            LATENCY,
            _ALL,
        ),
        NamedQuery(
            "fill_rate",
            "Filled quantity / submitted quantity per strategy and symbol",
            FILL_RATE,
            _ALL,
        ),
        NamedQuery(
            "exposure",
            "Net position and its value at the close, per symbol per --interval (default 1h)",
            EXPOSURE,
            _ALL | {"interval"},
        ),
        NamedQuery(
            "ohlcv",
            "Bars resampled to --interval (default 1h): open, high, low, close, volume",
            OHLCV,
            frozenset({"from", "to", "symbol", "interval"}),
        ),
    )
}
