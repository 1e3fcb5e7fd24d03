"""A strategy that always has an order working, and ways to run `lh` and read the log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store

ROOT = Path(__file__).resolve().parents[2]

BIDDER = """
from decimal import Decimal

from domain.events.types import OrderType, Side
from domain.strategy import Strategy


class Bidder(Strategy):
    \"\"\"One limit buy always working 5 % under the last close: an order to cancel.\"\"\"

    def on_bar(self, bar) -> None:
        if self.ctx.pending_quantity(bar.symbol) == 0:
            price = (bar.close * Decimal("0.95")).quantize(Decimal("0.01"))
            self.ctx.submit_order(
                bar.symbol, Side.BUY, Decimal(1), order_type=OrderType.LIMIT, limit_price=price
            )
"""


def bidder(tmp_path: Path) -> str:
    path = tmp_path / "bidder.py"
    path.write_text(BIDDER)
    return f"{path}:Bidder"


def lh_env(store_env: dict[str, str]) -> dict[str, str]:
    return os.environ | store_env | {"PYTHONPATH": str(ROOT), "LH_RUN_LEASE_SECONDS": "1"}


def lh(store_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``lh ARGS`` in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        check=False,
        cwd=ROOT,
        env=lh_env(store_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_lh(store_env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT,
        env=lh_env(store_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def log(store_env: dict[str, str]) -> list[RecordedEvent]:
    store = open_event_store(
        store_env["LH_EVENT_STORE"], key_prefix=store_env.get("LH_REDIS_KEY_PREFIX", "lh")
    )
    try:
        return list(store.read_all())
    finally:
        store.close()


def wait_for(
    store_env: dict[str, str],
    found: Callable[[list[RecordedEvent]], bool],
    child: subprocess.Popen[str] | None = None,
    seconds: float = 90,
) -> list[RecordedEvent]:
    """Poll the log until ``found`` holds (a generous bound, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        events = log(store_env)
        if found(events):
            return events
        if child is not None and child.poll() is not None:
            raise AssertionError(f"the session ended first: {child.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not found in {len(events)} events")
        time.sleep(0.1)


def caused_by(events: list[RecordedEvent], request_id: str) -> list[RecordedEvent]:
    return [e for e in events if e.causation_id == request_id]


def answered(request_id: str) -> Callable[[list[RecordedEvent]], bool]:
    """Whether the session has answered the request (applied or rejected it)."""
    kinds = ("OperatorCommandApplied", "OperatorCommandRejected")
    return lambda events: any(e.event_type in kinds for e in caused_by(events, request_id))
