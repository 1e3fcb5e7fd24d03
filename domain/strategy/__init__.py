"""Strategies: the base class, typed parameters, the registry and the built-ins."""

from domain.strategy.base import OrderTicket, Strategy, StrategyContext, StrategyFill
from domain.strategy.params import Param, StrategyError, parse_assignments, validate_params
from domain.strategy.registry import register, registered, strategy_by_name

__all__ = [
    "OrderTicket",
    "Param",
    "Strategy",
    "StrategyContext",
    "StrategyError",
    "StrategyFill",
    "parse_assignments",
    "register",
    "registered",
    "strategy_by_name",
    "validate_params",
]
