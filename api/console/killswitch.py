"""The kill-switch confirmation: which run, and why. Nothing is sent until the operator has
chosen a run, typed a reason and pressed Engage; Escape or Cancel sends nothing."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select


@dataclass(frozen=True)
class KillSwitchRequest:
    run: str
    reason: str


class KillSwitchScreen(ModalScreen[KillSwitchRequest | None]):
    """Asks for the run (those still running first) and a reason, then confirms."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    KillSwitchScreen { align: center middle; }
    KillSwitchScreen > Vertical {
        width: 72; height: auto; padding: 1 2; border: thick $error; background: $surface;
    }
    KillSwitchScreen Horizontal { height: auto; margin-top: 1; }
    KillSwitchScreen #problem { color: $error; }
    """

    def __init__(self, runs: list[str], selected: str | None) -> None:
        super().__init__()
        self._runs = runs
        self._selected = selected if selected in runs else (runs[0] if runs else None)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                "[b]Engage the kill switch[/b]: the run stops trading and cancels its "
                "working orders."
            )
            yield Select(
                [(run, run) for run in self._runs],
                value=self._selected if self._selected is not None else Select.NULL,
                prompt="run",
                id="run",
            )
            yield Input(placeholder="reason (recorded with your name)", id="reason")
            yield Label("", id="problem")
            with Horizontal():
                yield Button("Engage", variant="error", id="engage")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "engage":
            self._confirm()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _confirm(self) -> None:
        run = self.query_one("#run", Select).value
        reason = self.query_one("#reason", Input).value.strip()
        problem = self.query_one("#problem", Label)
        if not isinstance(run, str):
            problem.update("choose a run")
        elif not reason:
            problem.update("a reason is required")
        else:
            self.dismiss(KillSwitchRequest(run, reason))
