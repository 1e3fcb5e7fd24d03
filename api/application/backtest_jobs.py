"""Backtests run as background jobs: each is ``lh backtest ... --json`` in a child process,
in ``LH_VAR_DIR/backtests/<job id>/`` (the request, the output, the exit code), so a job is the
command line's backtest exactly and its results are what that command prints."""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from api.application.children import Children
from api.application.run_request import RunRequest
from infra.settings import Settings, var_dir

JOB_ID_PREFIX = "bt-job-"


class JobNotFoundError(LookupError):
    """No backtest job by that id."""


class JobNotDoneError(RuntimeError):
    """The job has no results (yet, or it failed)."""


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    status: str  # running, succeeded, failed
    returncode: int | None
    error: str | None
    requested_by: str


class BacktestJobs:
    def __init__(
        self, settings: Settings, root: Path | None = None, children: Children | None = None
    ) -> None:
        self.settings = settings
        self.root = root or var_dir() / "backtests"
        self.children = children or Children()

    def submit(self, request: RunRequest, owner: str) -> JobStatus:
        """Check the request as ``lh backtest`` would, then start it."""
        request.check(self.settings)
        job_id = f"{JOB_ID_PREFIX}{secrets.token_hex(8)}"
        directory = self.root / job_id
        directory.mkdir(parents=True)
        body = {"request": asdict(request), "requested_by": owner}
        (directory / "request.json").write_text(json.dumps(body))
        self.children.launch(directory, request.arguments("backtest"))
        return self.status(job_id)

    def status(self, job_id: str) -> JobStatus:
        directory = self._directory(job_id)
        owner = json.loads((directory / "request.json").read_text())["requested_by"]
        state = self.children.state(directory)
        if state.running:
            return JobStatus(job_id, "running", None, None, owner)
        if state.returncode == 0:
            return JobStatus(job_id, "succeeded", 0, None, owner)
        lines = self.children.output(directory, "stderr").strip().splitlines()
        error = lines[-1] if lines else "the job ended without saying why"
        return JobStatus(job_id, "failed", state.returncode, error, owner)

    def results(self, job_id: str) -> dict[str, Any]:
        """What ``lh backtest --json`` printed; ``JobNotDoneError`` until it succeeded."""
        found = self.status(job_id)
        if found.status != "succeeded":
            raise JobNotDoneError(f"backtest job {job_id} is {found.status}; no results")
        output = self.children.output(self._directory(job_id), "stdout")
        result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
        return result

    def delete(self, job_id: str) -> None:
        """Stop the job if it runs (SIGKILL: a backtest resumes or reruns identically) and
        forget it; the events it recorded stay in the log."""
        directory = self._directory(job_id)
        self.children.stop(directory, interrupt=False)
        shutil.rmtree(directory)

    def _directory(self, job_id: str) -> Path:
        suffix = job_id.removeprefix(JOB_ID_PREFIX)
        directory = self.root / job_id
        valid = job_id.startswith(JOB_ID_PREFIX) and suffix.isalnum()
        if not valid or not (directory / "request.json").is_file():
            raise JobNotFoundError(f"no backtest job {job_id!r}")
        return directory
