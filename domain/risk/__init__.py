"""Pre-trade risk: limits, rules (pure functions) and the RiskEngine that applies them all."""

from domain.risk.engine import RiskCheck, RiskCommandError, RiskEngine
from domain.risk.limits import RiskLimits

__all__ = ["RiskCheck", "RiskCommandError", "RiskEngine", "RiskLimits"]
