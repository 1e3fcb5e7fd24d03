"""Resolve ``--strategy``: a registered name, or a user's ``path/to/file.py:ClassName``.

Loading a user file executes it with the full rights of this process: that is the point (it
is the user's own code), but it is done only on an explicit request and the class must
subclass ``Strategy``. ``source_hash`` names the code a run ran: the SHA-256 of the exact
bytes executed for a user file, of the defining module's file for a built-in.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from functools import cache
from pathlib import Path

from domain.strategy import Strategy, StrategyError
from domain.strategy.registry import strategy_by_name


def resolve_strategy(spec: str) -> type[Strategy]:
    """A registered name (``sma_cross``) or a file and class (``my/strats.py:Breakout``)."""
    if ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        path_text, class_name = spec.rsplit(":", 1)
        return load_strategy_file(Path(path_text), class_name)
    return strategy_by_name(spec)


_FILE_HASHES: dict[type[Strategy], str] = {}


def load_strategy_file(path: Path, class_name: str) -> type[Strategy]:
    """Execute the file's bytes as read once (the bytes hashed are the bytes run)."""
    if not path.is_file():
        raise StrategyError(f"strategy file {path} does not exist")
    source = path.read_bytes()
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"lh_user_strategy_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None:
        raise StrategyError(f"strategy file {path} cannot be imported")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise StrategyError(f"strategy file {path} failed to import: {error}") from error
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise StrategyError(f"{path} has no Strategy subclass named {class_name!r}")
    _FILE_HASHES[found] = hashlib.sha256(source).hexdigest()
    return found


def source_hash(strategy_class: type[Strategy]) -> str:
    """SHA-256 of the source the class came from: a changed strategy is a different run."""
    loaded = _FILE_HASHES.get(strategy_class)
    if loaded is not None:
        return loaded
    try:
        return _file_hash(inspect.getfile(strategy_class))
    except (TypeError, OSError) as error:
        name = strategy_class.__name__
        raise StrategyError(f"cannot read the source of strategy {name}: {error}") from None


@cache
def _file_hash(path: str) -> str:
    """A module's file is read once per process (``lh optimize`` asks for every grid point)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
