"""``lh console``: a terminal UI over the API for the operator on duty.

Positions, each run's PnL, open orders, read-model lag (refreshed every ``refresh`` seconds
from the REST API) and alerts (pushed by ``/ws/alerts``). ``k`` engages a run's kill switch
after a confirmation with a reason; ``r`` refreshes now; ``q`` quits.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Static

from api.console.alerts import AlertFeedError, alerts, describe
from api.console.client import ApiClient, ApiError, Snapshot
from api.console.killswitch import KillSwitchRequest, KillSwitchScreen

MAX_ALERTS = 500
ENDED = frozenset({"STOPPED", "FAILED"})

TABLES: dict[str, tuple[str, ...]] = {
    "positions": ("account", "strategy", "symbol", "quantity", "avg price", "realized", "fees"),
    "runs": ("run", "strategy", "account", "status", "equity", "realized", "unrealized", "fees"),
    "orders": ("order", "symbol", "side", "type", "quantity", "filled", "limit", "status"),
    "alerts": ("position", "time", "type", "account", "what"),
    "lag": ("read model", "checkpoint", "lag"),
}
TITLES = {
    "positions": "Positions",
    "runs": "PnL by run",
    "orders": "Open orders",
    "alerts": "Alerts",
    "lag": "Read-model lag",
}


def _cells(row: dict[str, Any], *names: str) -> tuple[str, ...]:
    return tuple("" if row.get(name) is None else str(row[name]) for name in names)


class ConsoleApp(App[None]):
    """The console; ``client`` is the API it reads and commands."""

    TITLE = "LiangHua console"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("k", "kill_switch", "Kill switch"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
    ]
    CSS = """
    #summary { height: 1; padding: 0 1; }
    #feed { height: 1; padding: 0 1; color: $text-muted; }
    Grid { grid-size: 2 3; grid-rows: 1fr 1fr 1fr; }
    DataTable { border: round $primary; }
    #alerts { column-span: 2; }
    """

    def __init__(self, client: ApiClient, *, refresh: float = 2.0) -> None:
        super().__init__()
        self.client = client
        self.refresh_seconds = refresh
        self.snapshot: Snapshot | None = None
        self.sent: list[dict[str, Any]] = []  # kill-switch requests the API accepted
        self._feed_started = False
        self._refreshing = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("connecting...", id="summary")
        with Grid():
            for name in ("positions", "runs", "orders", "lag", "alerts"):
                table: DataTable[str] = DataTable(id=name, zebra_stripes=True)
                table.border_title = TITLES[name]
                table.cursor_type = "row"
                yield table
        yield Static("alerts: connecting", id="feed")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.client.url
        for name, columns in TABLES.items():
            self.query_one(f"#{name}", DataTable).add_columns(*columns)
        self.action_refresh()
        self.set_interval(self.refresh_seconds, self.action_refresh)

    async def on_unmount(self) -> None:
        await self.client.aclose()

    def table(self, name: str) -> DataTable[str]:
        found: DataTable[str] = self.query_one(f"#{name}", DataTable)
        return found

    # --- the REST half ----------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Refresh unless a refresh is still waiting for the API (a slow API is not asked
        again and again, and a refresh is never cancelled by the next)."""
        if not self._refreshing:
            self._refreshing = True
            self.refresh_tables()

    @work(group="refresh")
    async def refresh_tables(self) -> None:
        try:
            snapshot = await self.client.snapshot()
        except ApiError as error:
            self.query_one("#summary", Static).update(f"[b red]{error}[/]")
            return
        finally:
            self._refreshing = False
        self.snapshot = snapshot
        self._show(snapshot)
        if not self._feed_started:
            self._feed_started = True
            self.follow_alerts(snapshot.head)

    def _show(self, snapshot: Snapshot) -> None:
        status = snapshot.status
        sessions = status.get("sessions", {})
        principal = status.get("principal", {})
        health = snapshot.health.get("status", "?")
        self.query_one("#summary", Static).update(
            f"log head {snapshot.head} · store {health} · sessions "
            f"{sessions.get('running', 0)}/{sessions.get('configured', 0)} running · "
            f"{principal.get('owner', '?')} ({principal.get('role', '?')})"
        )
        self._fill("positions", [
            _cells(r, "account", "strategy", "symbol", "quantity", "average_price",
                   "realized_pnl", "fees")
            for r in snapshot.positions
        ])  # fmt: skip
        self._fill("runs", [
            _cells(r, "run_id", "strategy", "account", "status", "equity", "realized_pnl",
                   "unrealized_pnl", "fees")
            for r in snapshot.runs
        ])  # fmt: skip
        self._fill("orders", [
            _cells(r, "order_id", "symbol", "side", "order_type", "quantity", "filled_quantity",
                   "limit_price", "status")
            for r in snapshot.open_orders
        ])  # fmt: skip
        models = snapshot.health.get("read_models", {})
        self._fill("lag", [
            (name, "", str(model)) if not isinstance(model, dict)  # the read models' error
            else (name, str(model.get("checkpoint", "")),
                  str(model.get("lag", model.get("error", ""))))
            for name, model in sorted(models.items())
        ])  # fmt: skip

    def _fill(self, name: str, rows: list[tuple[str, ...]]) -> None:
        table = self.table(name)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(rows)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    # --- the WebSocket half -----------------------------------------------------------------

    @work(exclusive=True, group="alerts")
    async def follow_alerts(self, head: int) -> None:
        feed = self.query_one("#feed", Static)
        try:
            async for alert in alerts(self.client.url, self.client.key, head, feed.update):
                self._add_alert(alert)
        except AlertFeedError as refused:
            feed.update(f"[b red]{refused}[/]")

    def _add_alert(self, alert: dict[str, Any]) -> None:
        table = self.table("alerts")
        row = (
            str(alert["position"]),
            str(alert.get("time", ""))[:19],
            str(alert.get("type", "")),
            str(alert.get("account") or ""),
            describe(alert),
        )
        table.add_row(*row, key=str(alert["position"]))
        if table.row_count > MAX_ALERTS:
            table.remove_row(table.coordinate_to_cell_key(Coordinate(0, 0)).row_key)
        table.move_cursor(row=table.row_count - 1)

    # --- the kill switch --------------------------------------------------------------------

    def action_kill_switch(self) -> None:
        runs = self._runs_by_urgency()
        if not runs:
            self.notify("no run to stop: the read model knows no run yet", severity="warning")
            return
        table = self.table("runs")
        selected = None
        if table.row_count and table.cursor_row >= 0:
            selected = str(table.get_row_at(table.cursor_row)[0])
        self.push_screen(KillSwitchScreen(runs, selected), self._engage)

    def _runs_by_urgency(self) -> list[str]:
        """Run ids, those still running first (an ended run takes no requests)."""
        rows = self.snapshot.runs if self.snapshot is not None else []
        running = [str(r["run_id"]) for r in rows if str(r.get("status", "")).upper() not in ENDED]
        ended = [str(r["run_id"]) for r in rows if str(r["run_id"]) not in running]
        return running + ended

    def _engage(self, request: KillSwitchRequest | None) -> None:
        if request is not None:
            self.send_kill_switch(request)

    @work(group="commands")
    async def send_kill_switch(self, request: KillSwitchRequest) -> None:
        try:
            accepted = await self.client.engage_kill_switch(request.run, request.reason)
        except ApiError as error:
            self.notify(str(error), title="Kill switch not sent", severity="error", timeout=15)
            return
        self.sent.append(accepted)
        self.notify(
            f"run {accepted.get('run_id')} will engage its kill switch at its next step "
            f"(request {accepted.get('request_id')}, operator {accepted.get('operator')})",
            title="Kill switch requested",
            timeout=15,
        )
