"""Every id LiangHua mints, minted (and, where the log must be read by it, read) here.

Ids are derived from the run id and a sequence number, never from randomness or the wall
clock, so the same run records the same ids (and bytes) every time it is run or resumed:

- run ids: ``<mode>-<config digest[:16]>`` (``bt-...`` for a backtest), or ``<name>-<digest>``
  for a named optimization grid point;
- per order request ``n`` of a run: signal ``<run>-s<n>``, risk decision ``<run>-d<n>``,
  client order ``<run>-c<n>``, order ``<run>-o<n>`` (one request, one of each);
- fills: ``<run>-f<n>``; a simulated venue's own ids: ``<venue>-o<n>`` and ``<venue>-f<n>``;
- events: ``<run>:<sequence>``, the sequence counting every event of the run from 1.

Readers must not take ids apart to learn facts: the events record what they need
(``RiskDecisionMade.order_id``, ``OrderCancelRequested.origin``). The one exception is
upcasting payloads written before those fields existed (``legacy_order_id``).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

_DIGEST_CHARS = 16


class RequestIds(NamedTuple):
    """The ids of everything one order request of a strategy can lead to."""

    signal_id: str
    decision_id: str
    client_order_id: str
    order_id: str


def run_id(mode: str, config_digest: str) -> str:
    """A run named by what it is: same mode (a ``RunMode``) and configuration, same run id.
    (This module imports nothing, so the event catalog's upcasters can use it.)"""
    prefix = "bt" if mode == "backtest" else str(mode)
    return f"{prefix}-{config_digest[:_DIGEST_CHARS]}"


def named_run_id(name: str, config_digest: str) -> str:
    """A run of a named optimization: told apart from other optimizations, the same on rerun."""
    return f"{name}-{config_digest[:_DIGEST_CHARS]}"


def request_ids(run: str, number: int) -> RequestIds:
    """The ids for the ``number``-th order request of run ``run`` (counting from 1)."""
    return RequestIds(
        f"{run}-s{number}", f"{run}-d{number}", f"{run}-c{number}", f"{run}-o{number}"
    )


def fill_id(run: str, number: int) -> str:
    """The ``number``-th fill of run ``run`` (counting from 1)."""
    return f"{run}-f{number}"


def venue_order_id(venue: str, number: int) -> str:
    """A simulated venue's id for the ``number``-th order it accepted."""
    return f"{venue}-o{number}"


def venue_fill_id(venue: str, number: int) -> str:
    """A simulated venue's id for its ``number``-th execution."""
    return f"{venue}-f{number}"


def event_id(run: str, sequence: int) -> str:
    """The id of the ``sequence``-th event of run ``run``: a retried batch carries the same
    ids, which is how the event store recognises it as already recorded."""
    return f"{run}:{sequence}"


def event_sequence(event: str) -> int:
    """The sequence number of an ``event_id``: the order in which its run recorded it (the
    store reads a stream back without global positions, so this is how a run's streams are
    merged back into one sequence)."""
    return int(event.rpartition(":")[2])


def legacy_order_id(decision_id: str) -> str:
    """The order a risk decision approved, for decisions recorded before ``RiskDecisionMade``
    said so itself (v1): request ``n``'s decision ``<run>-d<n>`` approved order ``<run>-o<n>``."""
    run, marker, number = decision_id.rpartition("-d")
    if not marker or not number.isdigit():
        raise ValueError(f"decision id {decision_id!r} was not minted by domain.ids")
    return request_ids(run, int(number)).order_id


_VENUE_CLIENT_ID_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:/_-"
)
_VENUE_CLIENT_ID_MAX = 36


def venue_client_order_id(order_id: str) -> str:
    """The client order id a live venue is sent for order ``order_id``, the same every time
    (a restart asks the venue by it instead of resending): the order id itself when it fits
    Binance's rule (1 to 36 of ``A-Z a-z 0-9 . : / _ -``), else ``lh.`` and 32 hex digits of
    its SHA-256 (a form no minted order id has: those never contain ``.``)."""
    fits = 0 < len(order_id) <= _VENUE_CLIENT_ID_MAX and set(order_id) <= _VENUE_CLIENT_ID_CHARS
    if fits and "." not in order_id:
        return order_id
    return "lh." + hashlib.sha256(order_id.encode()).hexdigest()[:32]
