"""Commands registered by name and imported when used: ``lh backtest`` pays for the backtest's
imports only, not for fastapi, textual, sqlalchemy and ccxt of the commands it does not run.

A ``LazyGroup`` lists its commands from ``LazyCommand`` entries. A command's module is imported
the first time the command is looked up (to run it, to show its own ``--help``, to complete its
options, or to write docs/cli.md); the group's own ``--help`` and the completion of command
names show each entry's ``summary`` instead, so they import nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer 0.29 vendors click as typer._click
    from typer._click import Command, Context, HelpFormatter
    from typer._click.shell_completion import CompletionItem


@dataclass(frozen=True)
class LazyCommand:
    """A command of a group: its name, where it is defined, and the first paragraph of its help.

    ``target`` is ``"module:attribute"``: a ``typer.Typer`` added as the sub-group ``name``, or
    a ``register(app)`` function that adds ``name`` (and maybe its siblings) to ``app``.
    """

    name: str
    target: str
    summary: str

    def load(self) -> Command:
        """Import the command's module and build the command exactly as typer would."""
        module, _, attribute = self.target.partition(":")
        found = getattr(import_module(module), attribute)
        parent = typer.Typer()
        if isinstance(found, typer.Typer):
            parent.add_typer(found, name=self.name)
        else:
            found(parent)
        return typer.main.get_group(parent).commands[self.name]


class LazyCommands(MutableMapping[str, "Command"]):
    """A group's commands in registration order, each built on first access."""

    def __init__(self, entries: Sequence[LazyCommand], built: MutableMapping[str, Command]):
        self._entries = {entry.name: entry for entry in entries}
        self._built = dict(built)
        self._summaries_only = False

    def __getitem__(self, name: str) -> Command:
        if name in self._built:
            return self._built[name]
        entry = self._entries[name]
        if self._summaries_only:
            return TyperCommand(name, help=" ".join(entry.summary.split()))  # one flowing line
        self._built[name] = command = entry.load()
        return command

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._entries.pop(name, None)
        self._built.pop(name)

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from (name for name in self._built if name not in self._entries)

    def __len__(self) -> int:
        return len(self._entries.keys() | self._built.keys())

    @contextmanager
    def summaries_only(self) -> Iterator[None]:
        """Within the block, commands not built yet are stand-ins carrying their summary."""
        self._summaries_only = True
        try:
            yield
        finally:
            self._summaries_only = False


class LazyGroup(TyperGroup):
    """A typer group whose ``lazy_commands`` are imported only when one of them is used."""

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = self._lazy = LazyCommands(self.lazy_commands, self.commands)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        with self._lazy.summaries_only():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        with self._lazy.summaries_only():
            return super().shell_complete(ctx, incomplete)
