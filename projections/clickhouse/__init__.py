"""The ClickHouse analytics read model: facts for PnL, exposure, slippage, latency and bars."""

from projections.clickhouse.client import (
    ClickHouseTarget,
    ClickHouseUnavailableError,
    open_client,
    parse_clickhouse_url,
)
from projections.clickhouse.projection import ClickHouseProjection

__all__ = [
    "ClickHouseProjection",
    "ClickHouseTarget",
    "ClickHouseUnavailableError",
    "open_client",
    "parse_clickhouse_url",
]
