"""The console's alert feed: ``/ws/alerts``, resumed from the last position seen whenever
the connection drops, so no alert is missed or shown twice.

It starts ``BACKLOG`` events before the log's head: the recent alerts, not the whole history.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from api.console.client import websocket_url

BACKLOG = 10_000
RETRY_SECONDS = 2.0
REFUSED = frozenset({4401, 4403, 4400})  # closes that retrying cannot fix

Status = Callable[[str], Awaitable[None] | None]


class AlertFeedError(Exception):
    """The stream refused this client (a bad key); retrying would not help."""


async def alerts(url: str, key: str, head: int, status: Status) -> AsyncIterator[dict[str, Any]]:
    """Every alert after ``head - BACKLOG``, then live ones, forever; ``status`` is told when
    the feed connects or drops."""
    after = max(0, head - BACKLOG)
    while True:
        address = websocket_url(url, f"/ws/alerts?after={after}")
        try:
            async with connect(
                address, additional_headers={"Authorization": f"Bearer {key}"}
            ) as ws:
                await _tell(status, "alerts: live")
                async for raw in ws:
                    alert = json.loads(raw)
                    after = int(alert["position"])
                    yield alert
        except ConnectionClosed as closed:
            received = closed.rcvd
            if received is not None and received.code in REFUSED:
                raise AlertFeedError(f"alerts refused: {received.reason}") from None
            reason = received.reason if received is not None else "connection lost"
            await _tell(status, f"alerts: {reason or 'closed'}; reconnecting")
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as error:
            await _tell(status, f"alerts: cannot connect ({error}); retrying")
        await asyncio.sleep(RETRY_SECONDS)


async def _tell(status: Status, text: str) -> None:
    told = status(text)
    if told is not None:
        await told


def describe(alert: dict[str, Any]) -> str:
    """One line saying what happened, from the alert's payload."""
    payload: dict[str, Any] = alert.get("payload") or {}
    kind = alert.get("type", "")
    if kind == "RiskDecisionMade":
        failed = [rule["rule"] for rule in payload.get("rules", []) if not rule.get("passed")]
        intent = payload.get("intent", {})
        order = f"{intent.get('side', '')} {intent.get('quantity', '')} {intent.get('symbol', '')}"
        return f"rejected {order.strip()}: {', '.join(failed) or 'risk'}"
    if kind in ("KillSwitchEngaged", "KillSwitchReleased"):
        verb = "engaged" if kind == "KillSwitchEngaged" else "released"
        return f"kill switch {verb} by {payload.get('operator')}: {payload.get('reason')}"
    if kind == "TradingStateChanged":
        return (
            f"trading {payload.get('old_state')} -> {payload.get('new_state')} "
            f"by {payload.get('operator')}: {payload.get('reason')}"
        )
    if kind == "RunFailed":
        error = f"{payload.get('error_type')}: {payload.get('message')}"
        return f"run {payload.get('run_id')} failed: {error}"
    if kind == "VenueConnectionChanged":
        state = "up" if payload.get("connected") else "DOWN"
        return f"venue {payload.get('venue')} {state}: {payload.get('reason')}"
    if kind == "OperatorCommandRejected":
        return f"command {payload.get('command')} rejected: {payload.get('error')}"
    if kind == "RiskLimitsChanged":
        return (
            f"limit {payload.get('limit')} {payload.get('old_value')} -> "
            f"{payload.get('new_value')} by {payload.get('operator')}"
        )
    return ", ".join(f"{name}={value}" for name, value in sorted(payload.items()))[:200]
