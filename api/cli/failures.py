"""Known failures a user can cause, as one line naming the cause and the fix.

A store that is down, a path that cannot be written, a SQLite URL pointing nowhere: the
drivers raise their own classes (often wrapped by ``eventsourcing``), with multi-line messages
that may repeat a URL and its password. ``describe_failure`` walks the exception's chain for
a class it knows and returns the line to print (secrets masked), or ``None`` for a bug.

Nothing here imports a driver or a store module up front: every ``lh`` command imports this
module, and most of them never load minio, sqlalchemy or clickhouse_connect.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence

from adapters.objectstore.base import ObjectStoreError
from infra.eventstore.leases import LeaseError
from infra.secrets import redact_text, redact_url
from infra.settings import ConfigError, var_dir
from infra.sqlite_readonly import ROOM_TO_OPEN, ReadOnlyOpenError


def describe_failure(error: BaseException, urls: Sequence[str] = ()) -> str | None:
    """The one line for ``error`` (masked with the secrets of ``urls``), or ``None``."""
    for cause in _chain(error):
        for describe in _DESCRIBERS:
            line = describe(cause, urls)
            if line is not None:
                return redact_text(line, urls)
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        suppressed = current.__suppress_context__
        current = current.__cause__ or (None if suppressed else current.__context__)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


def _store(urls: Sequence[str], index: int) -> str:
    return f" (now {redact_url(urls[index])})" if len(urls) > index else ""


def _own(error: BaseException, _urls: Sequence[str]) -> str | None:
    """Our errors already name the setting and the problem."""
    if isinstance(error, ConfigError | LeaseError | ReadOnlyOpenError) or _is(
        error, "projections.clickhouse.client", "ClickHouseUnavailableError"
    ):
        return _first_line(error)
    if isinstance(error, ObjectStoreError):
        return f"{_first_line(error)}; check LH_OBJECT_STORE and that the server is up"
    if _is(error, "projections.sql.engine", "SqlReadModelError"):
        return _first_line(error) + ("" if "LH_SQL_URL" in str(error) else "; check LH_SQL_URL")
    return None


def _is(error: BaseException, module: str, name: str) -> bool:
    """``isinstance(error, module.name)`` without importing ``module``: if it is not imported,
    nothing raised its error."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(error, getattr(loaded, name))


def _redis(error: BaseException, urls: Sequence[str]) -> str | None:
    module = type(error).__module__
    if not module.startswith("redis"):
        return None
    import redis

    if not isinstance(error, redis.ConnectionError | redis.TimeoutError):
        return None
    if isinstance(error, redis.AuthenticationError):
        problem, fix = "Redis refused the password", "fix the password in LH_EVENT_STORE"
    else:
        problem, fix = "Redis is not reachable", "start Redis or fix LH_EVENT_STORE"
    return f"{problem}: {_first_line(error)}; {fix}{_store(urls, 0)}"


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FULL_TEXTS = ("database or disk is full", "No space left on device", "NOT_ENOUGH_SPACE")
_READ_ONLY_TEXTS = ("attempt to write a readonly database", "Read-only file system")
_OURS = ("adapters", "api", "domain", "infra", "projections")  # our errors may quote a driver


def _says(error: BaseException, markers: tuple[str, ...]) -> bool:
    """Whether a driver's error (not one of ours quoting it) carries one of ``markers``."""
    if type(error).__module__.split(".")[0] in _OURS:
        return False
    text = str(error)
    return any(marker in text for marker in markers)


def _what(error: BaseException, urls: Sequence[str]) -> str:
    """What ``error`` could not write: the file it names, else the store its driver serves."""
    filename = getattr(error, "filename", None)
    module = type(error).__module__
    if filename:
        return str(filename)
    if module.startswith("sqlalchemy"):
        return _named("the SQL read model", "LH_SQL_URL", urls, 1)
    if module.startswith(("eventsourcing", "sqlite3")):
        return _named("the event store", "LH_EVENT_STORE", urls, 0)
    if module.startswith(("chdb", "clickhouse")):
        return _named("the ClickHouse read model", "LH_CLICKHOUSE_URL", urls, 2)
    return "a file"


def _named(store: str, variable: str, urls: Sequence[str], index: int) -> str:
    where = f" at {redact_url(urls[index])}" if len(urls) > index else ""
    return f"{store}{where} ({variable})"


def _detail(error: BaseException) -> str:
    """The driver's words, without repeating the file ``_what`` already names."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return _first_line(error)


def _disk_full(error: BaseException, urls: Sequence[str]) -> str | None:
    """No space left: ENOSPC (EDQUOT, EFBIG past a file-size limit), SQLite's "database or
    disk is full", chDB's errno 28, or SQLite's "disk I/O error" while the disk of an SQLite
    store is full (it could not create its ``-shm`` index). Each store writes atomically, so
    what was recorded before stays whole and a rerun resumes from it."""
    full = isinstance(error, OSError) and error.errno in _FULL_ERRNOS
    io_on_full = _says(error, _IO_TEXTS) and _sqlite_disk_full(urls)
    if not (full or io_on_full or _says(error, _FULL_TEXTS)):
        return None
    return (
        f"disk full: cannot write {_what(error, urls)} ({_detail(error)}); what was "
        "recorded before is intact: free space on that disk and run the command again"
    )


_IO_TEXTS = ("disk I/O error",)


def _sqlite_disk_full(urls: Sequence[str]) -> bool:
    """Whether the directory of a configured SQLite file has no room to open it."""
    from infra.eventstore.factory import sqlite_path

    for url in urls:
        if url.startswith("sqlite:"):
            folder = sqlite_path(url).parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            stats = os.statvfs(folder)
            if stats.f_bavail * stats.f_frsize < ROOM_TO_OPEN:
                return True
    return False


def _read_only(error: BaseException, urls: Sequence[str]) -> str | None:
    """A write refused by a read-only file system or a read-only opened SQLite file."""
    refused = isinstance(error, OSError) and error.errno == errno.EROFS
    if not (refused or _says(error, _READ_ONLY_TEXTS)):
        return None
    return (
        f"cannot write {_what(error, urls)}: it is read-only ({_detail(error)}); this "
        f"command records or changes data, so LH_VAR_DIR (now {var_dir()}) must be writable; "
        "commands that only read (lh store, lh audit, lh analytics, lh archive, lh "
        "projections status/verify, lh serve --check, lh keys ... list) work without"
    )


_LOCKED_TEXTS = ("database is locked", "database table is locked")


def _locked(error: BaseException, urls: Sequence[str]) -> str | None:
    """SQLite's busy timeout ran out: another process held the file's write lock throughout
    (a paused or hung process, or a tool with a write transaction left open)."""
    if not _says(error, _LOCKED_TEXTS):
        return None
    return (
        f"{_what(error, urls)} is locked: another process held its write lock until this "
        "command gave up waiting (a paused or hung lh process, or a tool with a write "
        "transaction open; `fuser FILE` names it); what was recorded before is intact: let "
        "that process finish or stop it, and run the command again"
    )


def _sqlite(error: BaseException, _urls: Sequence[str]) -> str | None:
    """SQLite (event store or read model) that cannot open or write its file."""
    driver = getattr(error, "orig", None)  # SQLAlchemy wraps the driver's error
    wrapped = type(error).__module__ == "eventsourcing.persistence"
    if not (
        isinstance(error, sqlite3.DatabaseError) or wrapped or isinstance(driver, sqlite3.Error)
    ):
        return None
    message = _first_line(driver if isinstance(driver, sqlite3.Error) else error)
    if "unable to open" not in message and "readonly" not in message:
        return None
    return (
        f"SQLite cannot open its database file ({message}): LH_EVENT_STORE and LH_SQL_URL must "
        "name a file in a writable directory (sqlite:///relative/path.sqlite or "
        "sqlite:////abs/path.sqlite), and LH_VAR_DIR must be writable"
    )


def _sqlalchemy(error: BaseException, urls: Sequence[str]) -> str | None:
    if not type(error).__module__.startswith("sqlalchemy"):
        return None
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(error, OperationalError | InterfaceError):
        return None
    detail = _first_line(error.orig) if error.orig is not None else _first_line(error)
    return (
        f"the SQL read model is not reachable ({detail}): start the database server or fix "
        f"LH_SQL_URL{_store(urls, 1)}"
    )


def _clickhouse(error: BaseException, urls: Sequence[str]) -> str | None:
    if not type(error).__module__.startswith("clickhouse_connect"):
        return None
    from clickhouse_connect.driver.exceptions import OperationalError

    if not isinstance(error, OperationalError):
        return None
    return (
        f"ClickHouse is not reachable ({_first_line(error)}): start the server or fix "
        f"LH_CLICKHOUSE_URL{_store(urls, 2)}"
    )


_PATH_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.ENOENT,
    errno.ENOSPC, errno.EISDIR,
}  # fmt: skip


def _os(error: BaseException, _urls: Sequence[str]) -> str | None:
    """A directory or file of ours (embedded stores under LH_VAR_DIR) that cannot be made."""
    if not isinstance(error, OSError) or error.errno not in _PATH_ERRNOS or not error.filename:
        return None
    return (
        f"cannot create or write {error.filename}: {error.strerror}; make its directory "
        f"writable or set LH_VAR_DIR to a writable directory (now {var_dir()})"
    )


_DESCRIBERS: tuple[Callable[[BaseException, Sequence[str]], str | None], ...] = (
    _own,
    _disk_full,
    _read_only,
    _locked,
    _redis,
    _sqlite,
    _sqlalchemy,
    _clickhouse,
    _os,
)
