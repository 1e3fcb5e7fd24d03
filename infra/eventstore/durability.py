"""How much of the acknowledged event log a Redis server would lose, and a guard for live trading.

An event store that forgets acknowledged events breaks crash recovery and the audit trail, so
live trading refuses a Redis without AOF. Settings come from ``CONFIG GET``; where CONFIG is
disabled or renamed (managed Redis), ``INFO persistence`` is used and what it cannot tell is
reported as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from infra.eventstore.errors import UnsafeEventStoreError
from infra.secrets import redact_url

_EXPOSURE = {
    "always": "none: each write is fsynced before it is acknowledged",
    "everysec": "up to ~1 s of acknowledged events if the machine (not just Redis) crashes",
    "no": "OS-dependent (often up to ~30 s) if the machine crashes; the OS decides when to fsync",
}

FIX = (
    "enable the append-only file, e.g. `redis-cli -u <url> CONFIG SET appendonly yes` and "
    "`CONFIG SET appendfsync always` (or `everysec` for <= 1 s exposure), then "
    "`CONFIG REWRITE`; or in redis.conf: `appendonly yes` and `appendfsync always`"
)


@dataclass(frozen=True, slots=True)
class RedisPersistence:
    """A Redis server's persistence settings, as far as it lets us read them."""

    aof: bool
    fsync: str | None
    rdb: bool | None
    rdb_schedule: str | None
    source: str

    @property
    def persists_nothing(self) -> bool:
        """No AOF and no known RDB schedule: a restart may lose everything (unknown counts)."""
        return not self.aof and self.rdb is not True

    @property
    def durable(self) -> bool:
        """AOF is on: acknowledged events survive a Redis restart (see ``exposure``)."""
        return self.aof

    @property
    def exposure(self) -> str:
        """What a crash can lose, in words."""
        if self.aof:
            return _EXPOSURE.get(self.fsync or "", "unknown: appendfsync could not be read")
        if self.rdb:
            return f"every event since the last RDB snapshot (save {self.rdb_schedule})"
        if self.rdb is None:
            return "everything since the last RDB snapshot, if any (schedule unknown)"
        return "everything: nothing is written to disk"


def read_persistence(url: str) -> RedisPersistence:
    """Ask the server at ``url`` how it persists data."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        try:
            return _from_config(client)
        except redis.ResponseError:
            return _from_info(client)
    finally:
        client.close()


def require_durable(url: str) -> RedisPersistence:
    """Return the settings, or raise ``UnsafeEventStoreError`` if Redis has no AOF."""
    settings = read_persistence(url)
    if settings.durable:
        return settings
    if settings.rdb is False:
        problem = (
            f"Redis at {redact_url(url)} persists nothing (appendonly no, no RDB save schedule)"
        )
    else:
        problem = (
            f"Redis at {redact_url(url)} has no append-only file (appendonly no); "
            f"a crash would lose {settings.exposure}"
        )
    raise UnsafeEventStoreError(
        f"{problem}: acknowledged events would be lost on restart, so live trading will not "
        f"start. To fix: {FIX}."
    )


def _from_config(client: redis.Redis) -> RedisPersistence:
    config = client.config_get("appendonly")
    config |= client.config_get("appendfsync")
    config |= client.config_get("save")
    schedule = str(config.get("save", "")).strip()
    return RedisPersistence(
        aof=str(config.get("appendonly", "no")).lower() == "yes",
        fsync=str(config.get("appendfsync")) if "appendfsync" in config else None,
        rdb=bool(schedule),
        rdb_schedule=schedule or None,
        source="CONFIG GET",
    )


def _from_info(client: redis.Redis) -> RedisPersistence:
    info = client.info("persistence")
    return RedisPersistence(
        aof=int(info.get("aof_enabled", 0)) == 1,
        fsync=None,
        rdb=None,
        rdb_schedule=None,
        source="INFO persistence (CONFIG is not allowed)",
    )
