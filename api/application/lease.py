"""One process at a time runs a given run: ``hold_run(store, run_id)`` around the whole run.

The lease is taken before the run's log is read (a second process refuses with
``LeaseHeldError`` naming the holder, having recorded nothing), renewed by a small thread
every third of its time to live while the run loop shows progress (``beat``), and released
when the run ends however it ends (normal end, ``RunFailed``, Ctrl-C). A process whose loop
stalls for ``STALL_FACTOR`` x the time to live stops renewing and loses the lease; a paused
or killed process loses it when it expires. Before every batch is appended, ``check``
confirms in the store that the lease is still ours (fencing): a process that lost it raises
``LeaseLostError`` and appends nothing more.

``LH_RUN_LEASE_SECONDS`` (``run_lease_seconds`` in the config file) sets the time to live:
30 s by default, 1 to 3600; tests use a short one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from infra.eventstore.leases import Lease, LeaseLostError, LeaseStore, let_go, open_leases
from infra.eventstore.store import EventStore
from infra.settings import load_settings

STALL_FACTOR = 10
"""A run loop silent for this many lease lifetimes (5 min by default) is stalled: the lease
is no longer renewed for it. A chunk of bars or one bar's strategy call never takes that long
unless something is wrong."""


def run_lease_name(run_id: str) -> str:
    return f"run {run_id}"


class RunLease:
    """A held run lease: ``beat`` from the run loop, ``check`` before each append."""

    def __init__(
        self, leases: LeaseStore, lease: Lease, seconds: float, *, stall_seconds: float
    ) -> None:
        self.leases = leases
        self.lease = lease
        self._ttl_ms = int(seconds * 1_000)
        self._stall_after = stall_seconds
        self._last_beat = time.monotonic()
        self._lost = False
        self._stopped = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew_while_alive, args=(seconds / 3,), daemon=True, name="run-lease"
        )
        self._renewer.start()

    def beat(self) -> None:
        """The run loop made progress: keep renewing."""
        self._last_beat = time.monotonic()

    def check(self) -> None:
        """Raise ``LeaseLostError`` unless the store says the lease is still ours (fencing)."""
        self.beat()
        if self._lost or not self.leases.holds(self.lease):
            self._lost = True
            raise LeaseLostError(self.lease.name)

    def _renew_while_alive(self, every: float) -> None:
        while not self._stopped.wait(every):
            if time.monotonic() - self._last_beat > self._stall_after:
                continue  # stalled: let the lease run out
            try:
                if not self.leases.renew(self.lease, self._ttl_ms):
                    self._lost = True
                    return
            except Exception:  # the store is unreachable: the next append says so
                continue

    def release(self) -> None:
        """Stop renewing and give the lease up; if the store cannot be reached the lease
        simply expires (the run's own error, if any, is what the caller should see)."""
        self._stopped.set()
        self._renewer.join()
        let_go(self.lease.token)
        try:
            if not self._lost:
                with contextlib.suppress(Exception):
                    self.leases.release(self.lease)
        finally:
            self.leases.close()


@contextmanager
def hold_run(store: EventStore, run_id: str) -> Iterator[RunLease]:
    """Hold the run ``run_id`` of ``store`` for the block; ``LeaseHeldError`` if another
    live process holds it (nothing is read or written then)."""
    seconds = load_settings().run_lease_seconds
    leases = open_leases(store.url, store.key_prefix)
    try:
        lease = leases.acquire(run_lease_name(run_id), int(seconds * 1_000))
    except BaseException:
        leases.close()
        raise
    held = RunLease(leases, lease, seconds, stall_seconds=seconds * STALL_FACTOR)
    try:
        yield held
    finally:
        held.release()
