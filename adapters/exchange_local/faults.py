"""Fault injection for the local exchange, from a spec such as
``latency=50ms,http429=0.05,http5xx=0.05,drop=0.02,lost_response=0.05,duplicate_fills=0.1,
reorder_fills=0.1,restart_lose_open=at:30s,seed=7``.

Probabilities are per request (``lost_response``: per accepted order; the fill faults: per
``myTrades`` answer); ``latency`` delays every answer; ``restart_lose_open`` forgets every open
order once (``at:DURATION``) or repeatedly (``every:DURATION``) after the exchange started.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

PROBABILITIES = (
    "http429",
    "http5xx",
    "drop",
    "lost_response",
    "duplicate_fills",
    "reorder_fills",
)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0}


class FaultSpecError(ValueError):
    """A fault spec that cannot be read; the message says which part and what is allowed."""


@dataclass(frozen=True)
class FaultSpec:
    latency_s: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)
    restart_after_s: float | None = None
    restart_repeats: bool = False
    seed: int = 0

    def chance(self, kind: str) -> float:
        return self.probabilities.get(kind, 0.0)


def parse_duration(text: str, where: str) -> float:
    """Seconds in ``50ms``, ``1.5s`` or ``2m``."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise FaultSpecError(f"{where}: {text!r} is not a duration like 50ms, 2s or 1m")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_faults(spec: str) -> FaultSpec:
    """The faults ``spec`` names; raises ``FaultSpecError`` on the first part it cannot read."""
    latency = 0.0
    chances: dict[str, float] = {}
    restart_after: float | None = None
    repeats = False
    seed = 0
    for part in (piece.strip() for piece in spec.split(",")):
        if not part:
            continue
        key, equals, value = part.partition("=")
        key = key.strip()
        if not equals:
            raise FaultSpecError(f"fault {part!r} has no value (write name=value)")
        if key == "latency":
            latency = parse_duration(value, "latency")
        elif key in PROBABILITIES:
            chances[key] = _probability(key, value)
        elif key == "restart_lose_open":
            mode, colon, duration = value.partition(":")
            if not colon or mode not in ("at", "every"):
                raise FaultSpecError(
                    f"restart_lose_open: {value!r} must be at:DURATION or every:DURATION"
                )
            restart_after = parse_duration(duration, "restart_lose_open")
            repeats = mode == "every"
        elif key == "seed":
            if not value.strip().isdigit():
                raise FaultSpecError(f"seed: {value!r} is not a whole number")
            seed = int(value)
        else:
            known = ", ".join(("latency", *PROBABILITIES, "restart_lose_open", "seed"))
            raise FaultSpecError(f"unknown fault {key!r}; known faults: {known}")
    return FaultSpec(latency, chances, restart_after, repeats, seed)


def _probability(key: str, value: str) -> float:
    try:
        chance = float(value)
    except ValueError:
        chance = -1.0
    if not 0.0 <= chance <= 1.0:
        raise FaultSpecError(f"{key}: {value!r} is not a probability between 0 and 1")
    return chance


class FaultDice:
    """Decides, reproducibly from the spec's seed, whether a fault strikes this time."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self._random = random.Random(spec.seed)
        self.counts: dict[str, int] = {}

    def strikes(self, kind: str) -> bool:
        chance = self.spec.chance(kind)
        if chance <= 0.0 or self._random.random() >= chance:
            return False
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return True

    def shuffle(self, items: list[object]) -> None:
        self._random.shuffle(items)

    def pick(self, count: int) -> int:
        return self._random.randrange(count)
