"""The trade report's arithmetic, fed either from the read model or from the log.

``TradesLedger`` defines every figure of the trade report (its name, its value, how it is
printed). The report feeds it rows of the SQL read model; the cross-check feeds a second one
the events of the store alone (``trades_replay``). Both then print ``figures()``: a read-model
row that disagrees with the log makes the two differ, and publication is refused.

Positions use the one accounting rule (FIFO lots, ``domain.accounting``): the lots are folded
from every fill before the period's end, and a fill realizes PnL in the period when its event
time lies in it. Unrealized PnL is marked at the last bar close before the end (else the last
fill price). Cash is per account and settles fills in their fee currency, as in
``projections/queries/state.py``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from domain.accounting import LotQueue
from projections.queries.reports.numbers import ZERO, amount, drawdowns, ratio

BUY = "BUY"


@dataclass(frozen=True, slots=True)
class FillFact:
    """What the ledger needs of a fill, whether read from a read-model row or an event."""

    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    currency: str


@dataclass
class StrategyBook:
    """One account's strategy over the period: activity in the period, lots at its end."""

    orders: int = 0
    fills: int = 0
    bought: Decimal = ZERO
    sold: Decimal = ZERO
    turnover: Decimal = ZERO
    fees: Decimal = ZERO
    realized: Decimal = ZERO
    lots: dict[str, LotQueue] = field(default_factory=lambda: defaultdict(LotQueue))
    last_price: dict[str, Decimal] = field(default_factory=dict)
    equity: list[tuple[int, Decimal]] = field(default_factory=list)


@dataclass
class TradesLedger:
    """Everything the trade report's figures come from, keyed by (account, strategy)."""

    cash_shown: bool = True
    books: dict[tuple[str, str], StrategyBook] = field(
        default_factory=lambda: defaultdict(StrategyBook)
    )
    cash: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    marks: dict[str, Decimal] = field(default_factory=dict)

    def order(self, account: str, strategy: str) -> None:
        """An order submitted in the period."""
        self.books[(account, strategy)].orders += 1

    def fill(self, key: tuple[str, str], fill: FillFact, *, in_period: bool) -> None:
        """A fill before the period's end, in log order."""
        book = self.books[key]
        symbol, side, quantity, price, fee = (
            fill.symbol,
            fill.side,
            fill.quantity,
            fill.price,
            fill.fee,
        )
        signed = quantity if side == BUY else -quantity
        realized = book.lots[symbol].fill(signed, price)
        book.last_price[symbol] = price
        self.cash[(key[0], fill.currency)] -= signed * price + fee
        if not in_period:
            return
        book.fills += 1
        book.turnover += quantity * price
        book.fees += fee
        book.realized += realized
        if side == BUY:
            book.bought += quantity
        else:
            book.sold += quantity

    def funds(self, account: str, currency: str, amount_: Decimal) -> None:
        """Funding or an adjustment before the period's end."""
        self.cash[(account, currency)] += amount_

    def valuation(self, key: tuple[str, str], time_us: int, equity: Decimal) -> None:
        """A portfolio valuation in the period, in log order."""
        self.books[key].equity.append((time_us, equity))

    def mark(self, symbol: str, close: Decimal) -> None:
        """A bar close before the period's end, in log order (the last one marks)."""
        self.marks[symbol] = close

    def mark_of(self, book: StrategyBook, symbol: str) -> Decimal:
        return self.marks.get(symbol, book.last_price.get(symbol, ZERO))

    def unrealized(self, book: StrategyBook) -> Decimal:
        return sum(
            (q.quantity * self.mark_of(book, s) - q.cost for s, q in book.lots.items()),
            ZERO,
        )

    def figures(self) -> dict[str, str]:
        """Every figure of the trade report by name (see docs/reports.md)."""
        found: dict[str, str] = {}
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for (account, strategy), book in sorted(self.books.items()):
            values = self.book_values(book)
            for name, value in values.items():
                found[f"trades.{account}.{strategy}.{name}"] = value
            for name in ("orders", "fills", "turnover", "fees", "realized_pnl", "unrealized_pnl"):
                totals[name] += Decimal(values[name])
        for name, total in totals.items():
            found[f"trades.total.{name}"] = amount(total)
        if self.cash_shown:
            for (account, currency), balance in sorted(self.cash.items()):
                found[f"trades.{account}.cash.{currency}"] = amount(balance)
        return found

    def book_values(self, book: StrategyBook) -> dict[str, str]:
        equity = [value for _, value in book.equity]
        first = equity[0] if equity else ZERO
        last = equity[-1] if equity else ZERO
        worst = max(drawdowns(equity), default=ZERO)
        return {
            "orders": str(book.orders),
            "fills": str(book.fills),
            "bought": amount(book.bought),
            "sold": amount(book.sold),
            "turnover": amount(book.turnover),
            "fees": amount(book.fees),
            "realized_pnl": amount(book.realized),
            "unrealized_pnl": amount(self.unrealized(book)),
            "open_positions": str(sum(1 for q in book.lots.values() if q.quantity != 0)),
            "start_equity": amount(first),
            "end_equity": amount(last),
            "return": ratio(last - first, first),
            "max_drawdown": ratio(worst, Decimal(1)),
        }
