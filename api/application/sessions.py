"""Configured paper sessions ("strategies" of the API): each a ``RunRequest`` kept in
``LH_VAR_DIR/sessions/<id>/config.json``, started as ``lh paper`` in a child process (its run
id is the session id, so a restart resumes the same run) and stopped with SIGINT, which
``lh paper`` records as an operator stop. Operators steer a running one through its control
stream like any run (``api.application.control``)."""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.application.children import Children, ChildState
from api.application.run_request import RUN_ID, RunRequest
from infra.settings import Settings, var_dir


class SessionNotFoundError(LookupError):
    """No configured session by that id."""


class SessionStateError(RuntimeError):
    """The session is running (or not) and cannot take this change now."""


@dataclass(frozen=True)
class SessionView:
    session_id: str
    request: RunRequest
    created_by: str
    created_at: str
    state: ChildState

    @property
    def status(self) -> str:
        if self.state.running:
            return "running"
        if self.state.returncode is None:
            return "stopped" if self.state.pid is None else "ended"
        return "ended" if self.state.returncode == 0 else "failed"


class Sessions:
    """Every configured session under one directory."""

    def __init__(
        self, settings: Settings, root: Path | None = None, children: Children | None = None
    ) -> None:
        self.settings = settings
        self.root = root or var_dir() / "sessions"
        self.children = children or Children()

    def list(self) -> list[SessionView]:
        if not self.root.is_dir():
            return []
        return [self.get(path.name) for path in sorted(self.root.iterdir()) if path.is_dir()]

    def get(self, session_id: str) -> SessionView:
        directory = self._directory(session_id)
        config = directory / "config.json"
        if not config.is_file():
            raise SessionNotFoundError(f"no session {session_id!r}")
        raw: dict[str, Any] = json.loads(config.read_text())
        return SessionView(
            session_id,
            RunRequest(**raw["request"]),
            raw["created_by"],
            raw["created_at"],
            self.children.state(directory),
        )

    def create(self, request: RunRequest, owner: str) -> SessionView:
        session_id = request.run_id or f"s-{secrets.token_hex(6)}"
        if (self._directory(session_id) / "config.json").exists():
            raise SessionStateError(f"session {session_id!r} exists already")
        self._write(session_id, request, owner)
        return self.get(session_id)

    def update(self, session_id: str, request: RunRequest, owner: str) -> SessionView:
        if self.get(session_id).state.running:
            raise SessionStateError(f"session {session_id!r} is running; stop it first")
        self._write(session_id, request, owner)
        return self.get(session_id)

    def delete(self, session_id: str) -> None:
        if self.get(session_id).state.running:
            raise SessionStateError(f"session {session_id!r} is running; stop it first")
        shutil.rmtree(self._directory(session_id))

    def start(self, session_id: str) -> SessionView:
        found = self.get(session_id)
        if found.state.running:
            raise SessionStateError(f"session {session_id!r} is running already")
        self.children.launch(self._directory(session_id), found.request.arguments("paper"))
        return self.get(session_id)

    def stop(self, session_id: str) -> SessionView:
        if not self.get(session_id).state.running:
            raise SessionStateError(f"session {session_id!r} is not running")
        self.children.stop(self._directory(session_id))
        return self.get(session_id)

    def _write(self, session_id: str, request: RunRequest, owner: str) -> None:
        request = RunRequest(**(asdict(request) | {"run_id": session_id}))
        request.check(self.settings)
        directory = self._directory(session_id)
        directory.mkdir(parents=True, exist_ok=True)
        body = {
            "request": asdict(request),
            "created_by": owner,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        temporary = directory / "config.tmp"
        temporary.write_text(json.dumps(body, indent=1))
        temporary.replace(directory / "config.json")

    def _directory(self, session_id: str) -> Path:
        if not RUN_ID.fullmatch(session_id):
            raise SessionNotFoundError(f"no session {session_id!r}")
        return self.root / session_id
