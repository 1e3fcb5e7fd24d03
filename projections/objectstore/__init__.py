"""The object-store read model: end-of-day position snapshots and backtest artefacts."""

from projections.objectstore.artefacts import write_backtest_artefacts
from projections.objectstore.snapshots import ObjectStoreProjection, snapshot_key

__all__ = ["ObjectStoreProjection", "snapshot_key", "write_backtest_artefacts"]
