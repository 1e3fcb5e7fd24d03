"""Why a read model stopped: one small JSON record per read model, so that ``lh projections
status`` and ``verify`` in another process see the failure that ``run`` met.

A record is written when a read model cannot apply an event, and removed when the read model
applies past that position (or is reset for a rebuild). Records sit beside the embedded stores
(``LH_VAR_DIR``), one file per read model and target URL, replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.settings import Settings, var_dir


@dataclass(frozen=True)
class Failure:
    """A read model met an event it cannot apply."""

    projection: str
    position: int
    event_type: str
    reason: str

    def __str__(self) -> str:
        return (
            f"read model {self.projection} cannot apply the event at position {self.position} "
            f"({self.event_type}): {self.reason}"
        )


class FailureRecords:
    """The failure records of the read models under ``directory``; ``targets`` maps each read
    model's name to its URL, so another database under the same name has its own record."""

    def __init__(self, directory: Path, targets: dict[str, str]) -> None:
        self.directory = directory
        self.targets = targets

    def _path(self, name: str) -> Path:
        target = hashlib.sha256(self.targets.get(name, "").encode()).hexdigest()[:16]
        return self.directory / f"{name}-{target}.json"

    def record(self, failure: Failure) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(failure.projection)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(failure)))
        os.replace(temporary, path)

    def get(self, name: str) -> Failure | None:
        path = self._path(name)
        try:
            return Failure(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return Failure(name, 0, "unknown", f"its failure record {path} is unreadable")

    def clear(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


def failure_records(settings: Settings) -> FailureRecords:
    """The records of the read models ``settings`` configures (under ``LH_VAR_DIR``)."""
    from projections.registry import SPECS  # the registry opens backends; import it late

    targets = {spec.name: spec.url(settings) for spec in SPECS}
    return FailureRecords(var_dir() / "projection-failures", targets)
