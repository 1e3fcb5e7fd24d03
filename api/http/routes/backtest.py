"""``/backtest``: ``lh backtest`` as a background job (``api.application.backtest_jobs``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from api.application.backtest_jobs import JobNotDoneError, JobNotFoundError
from api.application.runs import RunConfigError
from api.http.auth import Context, Trader, Viewer
from api.http.models import RunBody
from api.http.problems import ProblemError

router = APIRouter(prefix="/backtest", tags=["backtest"])
JobId = Annotated[str, Path(min_length=1, max_length=64)]


def _guard(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except JobNotFoundError as error:
        raise ProblemError(404, "Unknown backtest job", str(error)) from None
    except JobNotDoneError as error:
        raise ProblemError(409, "No results", str(error)) from None
    except RunConfigError as error:
        raise ProblemError(422, "Invalid request", str(error)) from None


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def submit(body: RunBody, lh: Context, principal: Trader) -> dict[str, Any]:
    """Start ``lh backtest`` with these options; poll ``/backtest/{id}/status``."""
    return asdict(_guard(lh.jobs.submit, body.request(), principal.owner))


@router.get("/{job_id}/status")
def job_status(job_id: JobId, lh: Context, principal: Viewer) -> dict[str, Any]:
    return asdict(_guard(lh.jobs.status, job_id))


@router.get("/{job_id}/results")
def job_results(job_id: JobId, lh: Context, principal: Viewer) -> dict[str, Any]:
    """What ``lh backtest --json`` printed: run id, metrics, trades (409 until done)."""
    results: dict[str, Any] = _guard(lh.jobs.results, job_id)
    return results


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_job(job_id: JobId, lh: Context, principal: Trader) -> None:
    """Stop the job if it runs and forget it (what it recorded stays in the log)."""
    _guard(lh.jobs.delete, job_id)
