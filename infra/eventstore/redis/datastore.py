"""One Redis connection pool, the key layout and the Lua scripts, shared by a factory's recorders.

Redis errors are translated to the eventsourcing persistence errors so callers (and the
library's own test cases) see ``IntegrityError`` for conflicts and ``OperationalError`` when
the server cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast
from uuid import UUID

import redis
from eventsourcing.persistence import (
    DataError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)

OriginatorIdType = Literal["uuid", "text"]

CONFLICT = "LHCONFLICT"
TRACKING_CONFLICT = "LHTRACKING"
BAD_VERSION = "LHBADVERSION"
STRAY = "LHSTRAY"
CHAIN_HEAD = "LHCHAINHEAD"
DANGLING = "LHDANGLING"


class ChainHeadMovedError(OperationalError):
    """Another writer appended since the chain head was read: chain the batch again."""


class ReplicaNotConfirmedError(OperationalError):
    """The primary stored the batch but too few replicas confirmed it in time: it does not
    count as stored (losing the primary could lose it); retrying the same batch is safe."""


class StrayEntryError(DataError):
    """A Redis stream holds an entry the store did not write; appends stop until it is removed."""


@dataclass(frozen=True, slots=True)
class EventKeys:
    """Where one recorder keeps its events: ``<prefix>:<application>:<purpose>:...``."""

    base: str

    @property
    def log(self) -> str:
        """The global stream, entry id ``<notification id>-0``."""
        return f"{self.base}:log"

    @property
    def sequence(self) -> str:
        return f"{self.base}:seq"

    @property
    def versions(self) -> str:
        """Hash of originator id -> last recorded version; never trimmed."""
        return f"{self.base}:versions"

    @property
    def chain(self) -> str:
        """The chain hash at the head of the log (32 bytes)."""
        return f"{self.base}:chain"

    @property
    def chain_base(self) -> str:
        """Hash ``position``/``hash``: the chain of the events recorded before the chain."""
        return f"{self.base}:chainbase"

    @property
    def floor(self) -> str:
        """The lowest position still held (1 until something is trimmed)."""
        return f"{self.base}:floor"

    @property
    def sealed(self) -> str:
        """Hash of archive id -> the last position sealed into that archive."""
        return f"{self.base}:sealed"

    @property
    def trimmed(self) -> str:
        """Hash of originator id -> highest version trimmed away."""
        return f"{self.base}:trimmed"

    @property
    def aggregate_prefix(self) -> str:
        """Per-aggregate streams, entry id ``<version>-1``."""
        return f"{self.base}:agg:"

    def aggregate(self, originator_id: str) -> str:
        return self.aggregate_prefix + originator_id


class RedisDatastore:
    """A connection pool plus what every recorder needs to name keys and run scripts."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "eventsourcing",
        originator_id_type: OriginatorIdType = "uuid",
        max_connections: int = 64,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1_000,
    ) -> None:
        self.url = url
        self.wait_replicas = wait_replicas
        """Replicas that must confirm each append (``WAIT``); 0: the primary's word is enough."""
        self.wait_timeout_ms = wait_timeout_ms
        self.key_prefix = key_prefix
        self.originator_id_type = originator_id_type
        # A blocking pool makes extra threads wait for a connection instead of failing.
        self.pool: redis.BlockingConnectionPool = redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=30
        )
        self.client = redis.Redis(connection_pool=self.pool)
        self.insert_script = self.client.register_script(_lua("insert.lua"))
        self.trim_script = self.client.register_script(_lua("trim.lua"))
        self.select_script = self.client.register_script(_lua("select.lua"))
        self.adopt_identity_script = self.client.register_script(_ADOPT_IDENTITY)

    def insert(self, *, keys: list[str], args: Sequence[bytes | str | int]) -> int:
        """Run the insert script; with ``wait_replicas``, ``WAIT`` on the same connection
        right after it, and ``ReplicaNotConfirmedError`` unless enough replicas have it.

        The command is packed here and sent with one ``sendall``: redis-py would either copy
        every argument through ``hiredis.pack_command`` (~1.7 ms for 1,000 events) or send
        a large command in ~6 KB pieces, one system call each (~1.5 µs an event)."""
        script = self.insert_script
        head: list[bytes | str | int] = ["EVALSHA", script.sha, len(keys), *keys]
        command = resp_command([*head, *args])
        if self.wait_replicas:
            command += resp_command(["WAIT", self.wait_replicas, self.wait_timeout_ms])
        replies = self._send(command, 2 if self.wait_replicas else 1)
        if isinstance(replies[0], redis.exceptions.NoScriptError):
            self.client.script_load(script.script)
            replies = self._send(command, len(replies))
        for reply in replies:
            if isinstance(reply, redis.ResponseError):
                raise reply
        if self.wait_replicas and int(cast("int", replies[1])) < self.wait_replicas:
            raise ReplicaNotConfirmedError(
                f"the append reached the Redis primary but {replies[1]!r} of "
                f"{self.wait_replicas} replica(s) confirmed it within {self.wait_timeout_ms} ms, "
                "so it does not count as stored; check the replicas (INFO replication)"
            )
        return int(cast("int", replies[0]))

    def _send(self, command: bytes, replies: int) -> list[object]:
        """Send packed commands on one pooled connection and read their replies, errors
        included (read, not raised, so that none is left unread on the connection)."""
        connection = self.pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            connection.send_packed_command([command])
            read: list[object] = []
            for _ in range(replies):
                try:
                    read.append(connection.read_response())
                except redis.ResponseError as error:
                    read.append(error)
            return read
        finally:
            self.pool.release(connection)  # type: ignore[no-untyped-call]

    def event_keys(self, application: str, purpose: str) -> EventKeys:
        return EventKeys(f"{self.key_prefix}:{application}:{purpose}")

    def tracking_key(self, application: str) -> str:
        return f"{self.key_prefix}:{application}:tracking"

    def identity_key(self, application: str) -> str:
        """The store's identity (a UUID string), set once by whoever asks first."""
        return f"{self.key_prefix}:{application}:identity"

    def originator_id(self, raw: bytes) -> UUID | str:
        text = raw.decode()
        return UUID(text) if self.originator_id_type == "uuid" else text

    def close(self) -> None:
        """Close pooled connections; the pool reconnects if it is used again."""
        self.pool.disconnect()


@contextmanager
def translated_errors() -> Iterator[None]:
    """Raise eventsourcing's persistence errors instead of redis-py's."""
    try:
        yield
    except redis.ResponseError as error:
        message = str(error)
        if message.startswith((CONFLICT, TRACKING_CONFLICT)):
            raise IntegrityError(message) from error
        if message.startswith(CHAIN_HEAD):
            raise ChainHeadMovedError(message) from error
        if message.startswith(STRAY):
            raise StrayEntryError(message.removeprefix(STRAY).strip()) from error
        if message.startswith((BAD_VERSION, DANGLING)) or "WRONGTYPE" in message:
            raise DataError(message) from error
        raise ProgrammingError(message) from error
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as error:
        raise OperationalError(f"Redis is not reachable: {error}") from error
    except redis.RedisError as error:
        raise PersistenceError(str(error)) from error


_ADOPT_IDENTITY = """
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('LHNOTEMPTY') end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def resp_command(args: Sequence[bytes | str | int]) -> bytes:
    """One command in the Redis protocol (an array of bulk strings): ``*<count>``, then
    ``$<length>`` and the argument for each, every piece followed by CRLF (one join)."""
    pieces = [b"*%d" % len(args)]
    for arg in args:
        encoded = arg if type(arg) is bytes else str(arg).encode()
        pieces += (b"$%d" % len(encoded), encoded)
    pieces.append(b"")
    return b"\r\n".join(pieces)


def _lua(name: str) -> str:
    return Path(__file__).with_name(name).read_text(encoding="utf-8")
