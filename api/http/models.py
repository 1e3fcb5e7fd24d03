"""Request and response bodies. Bounds are the command line's: the strings ``lh`` takes are
checked by the same application code (``RunRequest.check``, ``check_limit``,
``parse_state``), here only their sizes are bounded."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.application.run_request import MAX_SPEED, RunRequest

Text = Annotated[str, Field(min_length=1, max_length=256)]
Reason = Annotated[str, Field(min_length=1, max_length=1_000, description="Why (recorded).")]
RunRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="Run id, or 'latest' for the last run started.",
    ),
]
Names = Annotated[dict[str, Annotated[str, Field(max_length=256)]], Field(max_length=64)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunBody(Body):
    """A backtest or a paper session: the options of ``lh backtest``/``lh paper``."""

    data: Annotated[
        str, Field(min_length=1, max_length=4_096, description="Bar file on the server.")
    ]
    strategy: Text
    symbol: Annotated[str | None, Field(max_length=64)] = None
    params: Names = Field(default_factory=dict)
    cash: Annotated[str, Field(min_length=1, max_length=64)] = "100000"
    commission: Annotated[str | None, Field(max_length=64)] = None
    slippage_bps: Annotated[str | None, Field(max_length=64)] = None
    limits: Names = Field(default_factory=dict)
    run_id: Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] = (
        None
    )
    valuation_interval: Annotated[str, Field(min_length=1, max_length=16)] = "1h"
    speed: Annotated[float, Field(ge=0, le=MAX_SPEED, description="Paper only: x real time.")] = (
        60.0
    )

    def request(self) -> RunRequest:
        return RunRequest(**self.model_dump())


class KillSwitchBody(Body):
    run: RunRef
    action: Literal["engage", "release"]
    reason: Reason


class TradingStateBody(Body):
    run: RunRef
    state: Annotated[
        str, Field(min_length=1, max_length=16, description="ACTIVE, REDUCING, HALTED")
    ]
    reason: Reason


class LimitBody(Body):
    run: RunRef
    name: Annotated[str, Field(min_length=1, max_length=64)]
    value: Annotated[str, Field(min_length=1, max_length=255)]
    reason: Reason


class CancelBody(Body):
    run: RunRef
    reason: Reason


class KeyBody(Body):
    owner: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["viewer", "trader", "admin"]


class CommandAccepted(BaseModel):
    request_id: str
    run_id: str
    operator: str
