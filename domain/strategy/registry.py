"""Strategies by name: built-ins and classes registered with ``@register``.

Loading a user's strategy file is I/O and lives in ``api.application.strategies``.
"""

from __future__ import annotations

from domain.strategy.base import Strategy
from domain.strategy.params import StrategyError

_REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make ``cls`` available by its ``name``."""
    name = cls.strategy_name()
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise StrategyError(f"strategy name {name!r} is registered twice")
    _REGISTRY[name] = cls
    return cls


def registered() -> dict[str, type[Strategy]]:
    _load_builtins()
    return dict(_REGISTRY)


def strategy_by_name(name: str) -> type[Strategy]:
    """A built-in or registered strategy class; a clear error lists the known names."""
    strategies = registered()
    try:
        return strategies[name]
    except KeyError:
        known = ", ".join(sorted(strategies))
        raise StrategyError(
            f"unknown strategy {name!r} (built-ins: {known}; or give path/file.py:ClassName)"
        ) from None


def _load_builtins() -> None:
    import domain.strategy.builtins  # noqa: F401  (registers on import)
