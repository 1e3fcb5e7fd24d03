"""The one error a strategy's own code can end a run with."""

from __future__ import annotations


class StrategyFailedError(Exception):
    """The strategy's own code raised in one of its hooks; the run cannot go on.

    ``error`` is what it raised (with its traceback), ``hook`` the hook it raised in.
    """

    def __init__(self, hook: str, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.hook = hook
        self.error = error

    def __reduce__(self) -> tuple[type[StrategyFailedError], tuple[str, Exception]]:
        return type(self), (self.hook, self.error)  # crosses process boundaries intact
