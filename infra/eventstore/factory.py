"""Open the event store named by a URL: ``sqlite:///path`` (embedded) or ``redis://host:port/db``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.utils import Environment

from infra.eventstore.store import Clock, EventStore, SealedLog, wall_clock_us
from infra.sqlite_readonly import read_only_uri, unwritable
from infra.urls import check_url

APPLICATION_NAME = "lianghua"


def sqlite_path(url: str) -> Path:
    """SQLAlchemy convention: ``sqlite:///rel/path`` is relative, ``sqlite:////abs`` absolute."""
    return Path(urlsplit(url).path[1:] if url.startswith("sqlite:///") else urlsplit(url).path)


def open_recorder(
    url: str, *, key_prefix: str = "lh", live: bool = False, read_only: bool = False
) -> ApplicationRecorder:
    """The recorder for ``url``; ``live`` refuses a Redis that would lose acknowledged events.

    SQLite commits each append to its file before returning, so it is always durable.
    ``read_only`` (commands that only read) opens a SQLite file this process cannot write
    read-only, creating nothing, so that they work on a read-only ``LH_VAR_DIR``; a missing
    file is still created (an empty log, as every command shows on a fresh install).
    """
    check_url("event_store", url)
    scheme = urlsplit(url).scheme
    if live and scheme == "redis":
        from infra.eventstore.durability import require_durable  # redis: 0.1 s to import

        require_durable(url)
    if scheme == "sqlite":
        path = sqlite_path(url)
        reading = read_only and unwritable(path)
        if not reading:
            path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "PERSISTENCE_MODULE": "infra.eventstore.sqlite",
            "SQLITE_DBNAME": read_only_uri(path) if reading else str(path),
            "ORIGINATOR_ID_TYPE": "text",
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "false" if reading else "true",
        }
    else:
        env = {
            "PERSISTENCE_MODULE": "infra.eventstore.redis",
            "REDIS_URL": url,
            "REDIS_KEY_PREFIX": key_prefix,
            "ORIGINATOR_ID_TYPE": "text",
        }
    factory = InfrastructureFactory.construct(env=Environment(APPLICATION_NAME, env))
    return factory.application_recorder()


def open_event_store(
    url: str,
    *,
    key_prefix: str = "lh",
    clock: Clock = wall_clock_us,
    live: bool = False,
    sealed: SealedLog | None = None,
    read_only: bool = False,
) -> EventStore:
    """The event store at ``url``; pass ``live=True`` for live trading, ``read_only=True`` for
    commands that only read (see ``open_recorder``) and ``sealed`` (the archive) to read what
    Redis trimmed after sealing."""
    recorder = open_recorder(url, key_prefix=key_prefix, live=live, read_only=read_only)
    return EventStore(recorder, url=url, key_prefix=key_prefix, clock=clock, sealed=sealed)
