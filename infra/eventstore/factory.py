"""Open the event store named by a URL: ``sqlite:///path`` (embedded) or ``redis://host:port/db``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory

from infra.eventstore.store import Clock, EventStore, wall_clock_us
from infra.settings import check_url

APPLICATION_NAME = "lianghua"


def sqlite_path(url: str) -> Path:
    """SQLAlchemy convention: ``sqlite:///rel/path`` is relative, ``sqlite:////abs`` absolute."""
    return Path(urlsplit(url).path[1:] if url.startswith("sqlite:///") else urlsplit(url).path)


def open_recorder(url: str, *, key_prefix: str = "lh") -> ApplicationRecorder:
    check_url("event_store", url)
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "ORIGINATOR_ID_TYPE": "text",
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    else:
        env = {
            "PERSISTENCE_MODULE": "infra.eventstore.redis",
            "REDIS_URL": url,
            "REDIS_KEY_PREFIX": key_prefix,
            "ORIGINATOR_ID_TYPE": "text",
        }
    factory = InfrastructureFactory.construct(env=env | {"name": APPLICATION_NAME})
    return factory.application_recorder()


def open_event_store(
    url: str, *, key_prefix: str = "lh", clock: Clock = wall_clock_us
) -> EventStore:
    return EventStore(open_recorder(url, key_prefix=key_prefix), url=url, clock=clock)
