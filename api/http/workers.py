"""The API of one uvicorn worker process (``lh serve --workers N``): uvicorn imports this
factory in each worker, which builds its own ``App`` from the environment and the options
``lh serve`` passed down in ``LH_SERVE_OPTIONS``. Each worker has its own stores, response
cache and rate limiter: a key's limit then holds per worker, not for the whole server."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence

from fastapi import FastAPI

from api.application.bootstrap import bootstrap
from api.http.app import create_app

OPTIONS = "LH_SERVE_OPTIONS"
FACTORY = f"{__name__}:worker_app"


def pass_options(cors_origins: Sequence[str], rate: float, burst: int) -> None:
    """Hand ``lh serve``'s options to the worker processes it is about to start."""
    os.environ[OPTIONS] = json.dumps({"cors": list(cors_origins), "rate": rate, "burst": burst})


def settled(api: FastAPI) -> FastAPI:
    """``api`` with everything built at startup moved out of the garbage collector's sight
    (``gc.freeze``): the process holds some 200,000 long-lived objects (FastAPI, pydantic,
    SQLAlchemy), and every full collection under load walked them all, stalling every request
    in flight for tens to hundreds of milliseconds (the p99 of issue 13's benchmark)."""
    gc.collect()
    gc.freeze()
    return api


def worker_app() -> FastAPI:
    options = json.loads(os.environ.get(OPTIONS, "{}"))
    return settled(
        create_app(
            bootstrap(),
            cors_origins=options.get("cors", []),
            **{name: options[name] for name in ("rate", "burst") if name in options},
        )
    )
