"""How a run ends when it cannot go on: ``RunFailed`` recorded, one error for the caller.

Two kinds of failure. The strategy's own code raised (``StrategyFailedError``): the engine
cancels working orders and records ``RunFailed`` with the strategy's part of the stack; the
run is closed, because the same code on the same data fails the same way (a rerun is
refused, see ``recovery.RunClosedError``). The run's machinery failed (``INTERRUPTIONS``: the
store's writer process died, the store became unreachable): whatever reached the store stays,
``RunFailed(resumable=True)`` is appended after it where the store still answers, and the same
command resumes the run like after a crash.
"""

from __future__ import annotations

import inspect
import traceback
from pathlib import Path
from types import TracebackType

from eventsourcing.persistence import OperationalError

import domain
from api.application.recorded_run import read_run
from domain import ids
from domain.engine.engine import StrategyFailedError, TradingEngine
from domain.engine.recorder import SYSTEM_NAME
from domain.events.catalog import RunFailed
from domain.events.envelope import Actor, NewEvent
from domain.events.streams import run_stream
from domain.events.types import ActorKind
from domain.strategy import Strategy
from infra.eventstore.store import EventStore
from infra.eventstore.writer_process import WriterProcessError

INTERRUPTIONS = (WriterProcessError, OperationalError, OSError)
_FRAMEWORK = Path(domain.__file__).resolve().parent.parent  # the checkout or site-packages
_PACKAGES = ("domain", "adapters", "infra", "projections", "api")


class RunFailedError(RuntimeError):
    """A run ended in an error; ``failure`` is its ``RunFailed`` (``recorded`` if in the log)."""

    def __init__(self, run_id: str, failure: RunFailed, *, recorded: bool, hook: str = "") -> None:
        super().__init__(f"run {run_id} failed: {failure.error_type}: {failure.message}")
        self.run_id = run_id
        self.failure = failure
        self.recorded = recorded
        self.hook = hook


def close_failed_run(
    engine: TradingEngine, run_id: str, error: StrategyFailedError, strategy: Strategy
) -> RunFailedError:
    """Record the strategy's ``RunFailed`` through ``engine`` (closing the run); the error to
    raise for it."""
    failure = strategy_failure(run_id, error, type(strategy))
    engine.fail(failure)
    return RunFailedError(run_id, failure, recorded=True, hook=error.hook)


def strategy_failure(
    run_id: str, error: StrategyFailedError, strategy_class: type[Strategy]
) -> RunFailed:
    """The ``RunFailed`` of a strategy's error: its type, message and the strategy's frames."""
    cause = error.error
    return RunFailed(
        run_id=run_id,
        error_type=type(cause).__name__,
        message=str(cause),
        frames=strategy_frames(cause.__traceback__, inspect.getfile(strategy_class)),
        resumable=False,
    )


def strategy_frames(tb: TracebackType | None, strategy_file: str) -> list[str]:
    """The stack without the framework's frames: the strategy's file and whatever else it
    called (its own modules, libraries), each as ``File "...", line N, in f`` and its code."""
    own = Path(strategy_file).resolve()
    kept = traceback.StackSummary.from_list(
        [frame for frame in traceback.extract_tb(tb) if _strategy_frame(Path(frame.filename), own)]
    )
    return [text.rstrip("\n") for text in kept.format()]


def _strategy_frame(path: Path, own: Path) -> bool:
    resolved = path.resolve()
    if resolved == own:
        return True
    try:
        relative = resolved.relative_to(_FRAMEWORK)
    except ValueError:
        return True
    return relative.parts[:1] not in [(name,) for name in _PACKAGES]


def record_interruption(
    store: EventStore, run_id: str, account: str, error: Exception, time_us: int
) -> RunFailedError:
    """Append ``RunFailed(resumable=True)`` after what the store holds of the run, if it still
    answers; the error to raise either way."""
    failure = RunFailed(
        run_id=run_id,
        error_type=type(error).__name__,
        message=str(error).splitlines()[0] if str(error) else type(error).__name__,
        resumable=True,
    )
    try:
        recorded = read_run(store, run_id)
        if recorded is None or recorded.stopped or recorded.failure is not None:
            return RunFailedError(run_id, failure, recorded=False)
        stream = run_stream(run_id)
        event = NewEvent(
            stream,
            recorded.versions[stream] + 1,
            failure,
            ids.event_id(run_id, recorded.events + 1),
            time_us,
            Actor(ActorKind.SYSTEM, SYSTEM_NAME, account),
            None,
            run_id,
        )
        store.append([event])
    except INTERRUPTIONS:
        return RunFailedError(run_id, failure, recorded=False)
    return RunFailedError(run_id, failure, recorded=True)
