"""Resolve ``--strategy``: a registered name, or a user's ``path/to/file.py:ClassName``.

Loading a user file executes it: that is the point (it is the user's own code), but it is
done only on an explicit request and the class must subclass ``Strategy``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from domain.strategy import Strategy, StrategyError
from domain.strategy.registry import strategy_by_name


def resolve_strategy(spec: str) -> type[Strategy]:
    """A registered name (``sma_cross``) or a file and class (``my/strats.py:Breakout``)."""
    if ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        path_text, class_name = spec.rsplit(":", 1)
        return load_strategy_file(Path(path_text), class_name)
    return strategy_by_name(spec)


def load_strategy_file(path: Path, class_name: str) -> type[Strategy]:
    if not path.is_file():
        raise StrategyError(f"strategy file {path} does not exist")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"lh_user_strategy_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise StrategyError(f"strategy file {path} cannot be imported")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise StrategyError(f"strategy file {path} failed to import: {error}") from error
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise StrategyError(f"{path} has no Strategy subclass named {class_name!r}")
    return found
