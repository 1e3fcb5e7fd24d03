"""How the parts of an engine record a fact: into the run's journal, stamped by the clock,
with who is responsible for it (the strategy, the venue, the engine itself or an operator)."""

from __future__ import annotations

from domain.engine.journal import Journal
from domain.engine.ports import Clock
from domain.events.base import DomainEvent
from domain.events.codec import PAYLOAD_OPTIONS, PRESORTED_OPTIONS, encoded_event
from domain.events.envelope import Actor
from domain.events.types import ActorKind
from domain.ids import event_id as make_event_id

SYSTEM_NAME = "engine"
"""The actor name of facts the engine records on its own (run start and stop, valuations)."""


class Recorder:
    """Records facts of one run; the order manager, the operator controls and the loop share it."""

    __slots__ = ("account", "clock", "journal", "strategy", "system", "venue")

    def __init__(
        self, journal: Journal, clock: Clock, *, account: str, strategy: str, venue: str
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.account = account
        self.strategy = Actor(ActorKind.STRATEGY, strategy, account)
        self.venue = Actor(ActorKind.VENUE, venue, account)
        self.system = Actor(ActorKind.SYSTEM, SYSTEM_NAME, account)

    def operator(self, name: str) -> Actor:
        return Actor(ActorKind.OPERATOR, name, self.account)

    def record(
        self,
        stream: str,
        payload: DomainEvent,
        actor: Actor,
        cause: str | None = None,
        presorted: bool = False,
    ) -> str:
        """Record ``payload`` on ``stream``; returns its event id (the cause of what follows).
        ``presorted``: every dict of the payload (its fields, nested ones) was built in sorted
        key order, so encoding need not sort (same bytes; tests/trading/test_order_bytes.py).
        ``Journal.record`` written out here: a backtest records every event through this."""
        journal = self.journal
        versions = journal.versions
        version = versions[stream] = versions.get(stream, 0) + 1
        sequence = journal.sequence = journal.sequence + 1
        run_id = journal.run_id
        event_id = make_event_id(run_id, sequence)
        journal.pending.append(
            encoded_event(
                (stream, version, payload, event_id, self.clock.now_us(), actor, cause, run_id),
                PRESORTED_OPTIONS if presorted else PAYLOAD_OPTIONS,
            )
        )
        return event_id
