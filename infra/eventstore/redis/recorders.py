"""eventsourcing recorders on Redis Streams.

Layout (``<base>`` is ``<prefix>:<application>:<purpose>``):

- ``<base>:log`` one stream holding every event in application order; the entry id
  ``<n>-0`` *is* the notification id ``n`` (gapless, from ``INCRBY <base>:seq`` in the script);
- ``<base>:agg:<originator id>`` one stream per aggregate, entry id ``<version>-1``, holding
  the event's position (``p``; its record is read from the log: stored once, not twice) or,
  without the log (snapshots), the topic and state;
- ``<base>:versions`` the last version of each aggregate, the optimistic-concurrency check.
- ``<prefix>:<application>:identity`` the store's identity (a UUID), set once (``SET NX``).

An insert is one ``EVALSHA`` of ``insert.lua``: it checks every version (and the tracking
record) before writing, so a batch is recorded entirely or not at all. Versions of an
aggregate must strictly increase: a version at or below the last recorded one is a conflict
(stricter than the SQL recorders, which only refuse an exact duplicate; event-sourced
streams only ever append).

The hash chain (``domain/events/chain.py``): Redis Lua has no SHA-256, so the client computes
the batch's chain hashes from the head it last saw (``<base>:seq`` and the head chain hash
``<base>:chain``); the script refuses (``LHCHAINHEAD``) unless the head is still that one, and
the client re-reads the head and chains again. Each log entry keeps its chain hash in field
``c``. A log recorded before the chain gets, at its first chained append, the chain of its
existing events computed by the client and kept as ``<base>:chainbase`` (position, hash).

Keys are built inside the scripts, so this needs a standalone Redis (or one primary), not
Redis Cluster. Trimming (``trim_below``) removes sealed events from Redis. Reads that would
need a trimmed event raise ``PositionTrimmedError``: those events must be read from the archive.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid4

import redis
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DataError,
    Notification,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from domain.events import chain
from infra.eventstore.errors import PositionTrimmedError
from infra.eventstore.redis.datastore import (
    ChainHeadMovedError,
    EventKeys,
    RedisDatastore,
    translated_errors,
)

if TYPE_CHECKING:
    from infra.eventstore.redis.subscription import RedisSubscription

Entry = tuple[bytes, dict[bytes, bytes]]
TRIM_CHUNK = 5_000
_HEADER = struct.Struct("<IQI")
MAX_VERSION = 2**53
CHAIN_RETRIES = 1_000
CATCH_UP_PAGE = 5_000
_RECORD_SEALED = """
local known = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > known then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch as the insert script takes it: ids, versions and topics packed into one
    argument (see insert.lua for the layout), states one argument each; and its fields as
    columns, which ``records`` zips into the chain's records without a tuple per event."""

    ids: list[str]
    versions: list[int]
    topics: list[str]
    states: list[bytes]
    packed: bytes

    def records(self) -> Iterator[chain.Record]:
        return zip(self.ids, self.versions, self.topics, self.states, strict=True)


def batch_of(stored_events: Sequence[StoredEvent]) -> Batch:
    """Read the batch once for both the chain and the script; refuses a version a Lua
    number (a double) cannot hold exactly."""
    ids: list[str] = []
    versions: list[int] = []
    topics: list[str] = []
    states: list[bytes] = []
    parts: list[bytes] = []
    header = _HEADER.pack
    for event in stored_events:
        originator_id = event.originator_id
        if type(originator_id) is not str:
            originator_id = str(originator_id)
        version = event.originator_version
        if type(version) is not int or not 0 <= version <= MAX_VERSION:
            raise DataError(
                f"originator version {version!r} of {originator_id} is not an integer "
                f"from 0 to {MAX_VERSION} (Lua numbers are doubles)"
            )
        topic = event.topic
        ids.append(originator_id)
        versions.append(version)
        topics.append(topic)
        states.append(event.state)
        encoded_id = originator_id.encode()
        encoded_topic = topic.encode()
        parts += (header(len(encoded_id), version, len(encoded_topic)), encoded_id, encoded_topic)
    return Batch(ids, versions, topics, states, b"".join(parts))


class RedisRecorder:
    """State shared by every Redis recorder: the datastore and the keys it writes."""

    def __init__(
        self, datastore: RedisDatastore, *, application: str = "", purpose: str = "events"
    ) -> None:
        self.datastore = datastore
        self.application = application.lower() or "stored"
        self.keys: EventKeys = datastore.event_keys(self.application, purpose)
        self.tracking_key = datastore.tracking_key(self.application)
        self._head: tuple[int, bytes, bytes] | None = None
        """The chain head last seen (counter, head hash or b"", base hash or b""): a guess
        the script checks, so a single writer reads it from Redis only once."""

    def _insert(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        with_log: bool,
        tracking: Tracking | None = None,
    ) -> int:
        """Run the insert script; return the notification id before the first event."""
        keys = self.keys
        batch = batch_of(stored_events)
        args: list[bytes | str | int] = [
            keys.aggregate_prefix,
            "1" if with_log else "0",
            tracking.application_name if tracking else "",
            tracking.notification_id if tracking else 0,
            len(stored_events),
            batch.packed,
        ]
        script_keys = [
            keys.sequence,
            keys.log,
            keys.versions,
            self.tracking_key,
            keys.chain,
            keys.chain_base,
        ]
        if not (with_log and stored_events):
            with translated_errors():
                return int(
                    self.datastore.insert(
                        keys=script_keys, args=[*args, 0, "", "", "", *batch.states]
                    )
                )
        for _ in range(CHAIN_RETRIES):
            counter, head, base_hash = self._head or self._read_head()
            previous = head or base_hash or chain.GENESIS
            hashes = b"".join(chain.extend(previous, counter + 1, batch.records()))
            try:
                with translated_errors():
                    base = int(
                        self.datastore.insert(
                            keys=script_keys,
                            args=[*args, counter, head, hashes, base_hash, *batch.states],
                        )
                    )
            except ChainHeadMovedError:
                self._head = None
                continue
            self._head = (base + len(stored_events), hashes[-chain.HASH_SIZE :], b"")
            return base
        raise ChainHeadMovedError(
            f"the log head moved under {CHAIN_RETRIES} attempts to chain one batch"
        )

    def complete_chain(self) -> int:
        """Chain a log recorded before the chain existed (its chain hash becomes the base and
        the head), without appending; returns the chained head. An append does the same."""
        client = self.datastore.client
        for _ in range(CHAIN_RETRIES):
            with translated_errors(), client.pipeline(transaction=True) as pipe:
                pipe.watch(self.keys.sequence, self.keys.chain)  # type: ignore[no-untyped-call]
                counter = int(pipe.get(self.keys.sequence) or 0)
                if counter == 0 or pipe.get(self.keys.chain) is not None:
                    return counter
                chained = self._chain_before(counter)
                pipe.multi()
                pipe.hset(self.keys.chain_base, mapping={"position": counter, "hash": chained})
                pipe.set(self.keys.chain, chained)
                try:
                    pipe.execute()
                except redis.WatchError:
                    continue  # an append moved the head meanwhile (and chained it): look again
            self._head = None
            return counter
        raise ChainHeadMovedError("the log head kept moving while chaining the older events")

    def _read_head(self) -> tuple[int, bytes, bytes]:
        """The counter and head chain hash; for a log recorded before the chain, its chain."""
        with translated_errors():
            pipe = self.datastore.client.pipeline(transaction=True)
            pipe.get(self.keys.sequence)
            pipe.get(self.keys.chain)
            raw_counter, raw_head = pipe.execute()
        counter = int(raw_counter or 0)
        if raw_head is not None or counter == 0:
            return counter, bytes(raw_head or b""), b""
        return counter, b"", self._chain_before(counter)

    def _chain_before(self, counter: int) -> bytes:
        """The chain hash at ``counter`` of a log whose events were recorded without one."""
        previous = chain.GENESIS
        position = 0
        while position < counter:
            with translated_errors():
                entries = cast(
                    "list[Entry]",
                    self.datastore.client.xrange(
                        self.keys.log, f"{position + 1}-0", f"{counter}-0", count=CATCH_UP_PAGE
                    ),
                )
            for entry_id, fields in entries:
                position += 1
                if int(entry_id[:-2]) != position:
                    raise DataError(
                        f"cannot chain the events recorded before the chain: position "
                        f"{position} is missing from the log; run `lh audit verify`"
                    )
                record = (
                    fields[b"o"].decode(),
                    int(fields[b"v"]),
                    fields[b"t"].decode(),
                    fields[b"s"],
                )
                previous = chain.link(previous, position, record)
            if not entries:
                raise DataError(
                    f"cannot chain the events recorded before the chain: positions "
                    f"{position + 1}..{counter} are not in Redis (trimmed or deleted)"
                )
        return previous

    def close(self) -> None:
        self.datastore.close()


class RedisAggregateRecorder(RedisRecorder, AggregateRecorder):
    """Aggregate sequences only (used for snapshots): one stream per aggregate."""

    checks_trimmed = False

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if stored_events:
            self._insert(stored_events, with_log=False)
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        if (lte is not None and lte < 0) or limit == 0:
            return []
        key = self.keys.aggregate(str(originator_id))
        low = "-" if gt is None else f"{max(gt + 1, 0)}-0"
        high = "+" if lte is None else f"{lte}-1"
        with translated_errors():
            raw_trimmed, records = self.datastore.select_script(
                keys=[key, self.keys.log, self.keys.trimmed],
                args=[
                    low,
                    high,
                    "1" if desc else "0",
                    "" if limit is None else limit,
                    str(originator_id),
                    "1" if self.checks_trimmed else "0",
                ],
            )
        trimmed_version = int(raw_trimmed) if raw_trimmed else None
        if trimmed_version is not None and (gt is None or gt < trimmed_version):
            complete = desc and limit is not None and len(records) == 3 * limit
            if not complete:
                raise PositionTrimmedError(
                    f"aggregate {originator_id!s} versions up to {trimmed_version} were trimmed "
                    "from Redis after sealing; read them from the archive"
                )
        return [
            StoredEvent(
                originator_id=originator_id,
                originator_version=int(entry_id[: entry_id.index(b"-")]),
                topic=topic.decode(),
                state=state,
            )
            for entry_id, topic, state in zip(
                records[::3], records[1::3], records[2::3], strict=True
            )
        ]


class RedisApplicationRecorder(RedisAggregateRecorder, ApplicationRecorder):
    """Aggregate sequences plus the gapless application sequence (the global stream)."""

    checks_trimmed = True

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking = cast("Tracking | None", kwargs.get("tracking"))
        if not stored_events and tracking is None:
            return []
        base = self._insert(stored_events, with_log=True, tracking=tracking)
        return list(range(base + 1, base + 1 + len(stored_events)))

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        low = 1 if start is None else start if inclusive_of_start else start + 1
        low = max(low, 1)
        if limit <= 0 or (stop is not None and stop < low):
            return []
        high = "+" if stop is None else f"{stop}-0"
        wanted = frozenset(topics)
        page_size = limit if not wanted else max(limit, 500)
        client = self.datastore.client
        with translated_errors():
            pipe = client.pipeline(transaction=True)
            pipe.get(self.keys.floor)
            pipe.xrange(self.keys.log, f"{low}-0", high, count=page_size)
            raw_floor, entries = pipe.execute()
            floor = 1 if raw_floor is None else int(raw_floor)
            if low < floor:
                raise PositionTrimmedError(
                    f"positions {low}..{floor - 1} were trimmed from Redis after sealing; "
                    f"read them from the archive (Redis holds positions from {floor})"
                )
            results: list[Notification] = []
            while True:
                for entry in entries:
                    notification = self._notification(entry)
                    if wanted and notification.topic not in wanted:
                        continue
                    results.append(notification)
                    if len(results) == limit:
                        return results
                if len(entries) < page_size:
                    return results
                entries = client.xrange(self.keys.log, b"(" + entries[-1][0], high, count=page_size)

    def _notification(self, entry: Entry) -> Notification:
        entry_id, fields = entry
        return Notification(
            id=int(entry_id[:-2]),
            originator_id=self.datastore.originator_id(fields[b"o"]),
            originator_version=int(fields[b"v"]),
            topic=fields[b"t"].decode(),
            state=fields[b"s"],
        )

    def select_chain(
        self, after: int, limit: int, stop: int | None = None
    ) -> list[tuple[int, bytes]]:
        """Up to ``limit`` (position, chain hash) pairs with ``after < position <= stop``;
        entries recorded before the chain (no hash) are left out."""
        high = "+" if stop is None else f"{stop}-0"
        with translated_errors():
            entries = cast(
                "list[Entry]",
                self.datastore.client.xrange(self.keys.log, f"{after + 1}-0", high, count=limit),
            )
        return [(int(i[:-2]), bytes(f[b"c"])) for i, f in entries if b"c" in f]

    def entries_beyond_head(self, limit: int = 10) -> list[str]:
        """Ids of up to ``limit`` log entries past the counter: strays this store did not write."""
        head = self.max_notification_id() or 0
        with translated_errors():
            entries = cast(
                "list[Entry]",
                self.datastore.client.xrange(self.keys.log, f"({head}-0", "+", count=limit),
            )
        return [entry_id.decode() for entry_id, _ in entries]

    def record_sealed(self, archive_id: str, position: int) -> None:
        """Remember that archive ``archive_id`` holds positions up to ``position`` (never
        lowered), so an archive that lost its newest segments and their manifest entries
        is found."""
        with translated_errors():
            self.datastore.client.eval(_RECORD_SEALED, 1, self.keys.sealed, archive_id, position)

    def sealed_to(self, archive_id: str) -> int:
        """The highest position ``record_sealed`` recorded for ``archive_id`` (0: none)."""
        with translated_errors():
            found = self.datastore.client.hget(self.keys.sealed, archive_id)
        return 0 if found is None else int(found)

    def chain_base(self) -> tuple[int, bytes] | None:
        """(position, chain hash) of the events recorded before the chain, if there were."""
        with translated_errors():
            found = cast("dict[bytes, bytes]", self.datastore.client.hgetall(self.keys.chain_base))
        if not found:
            return None
        return int(found[b"position"]), bytes(found[b"hash"])

    def max_notification_id(self) -> int | None:
        with translated_errors():
            raw = self.datastore.client.get(self.keys.sequence)
        return int(raw) if raw else None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        from infra.eventstore.redis.subscription import RedisSubscription

        subscription: RedisSubscription = RedisSubscription(self, gt=gt, topics=topics)
        return subscription

    def wait_for_notification(self, after: int, timeout: float) -> None:
        """Block (XREAD BLOCK) until a position above ``after`` exists or ``timeout`` passes."""
        block_ms = max(1, round(timeout * 1000))
        with translated_errors():
            self.datastore.client.xread({self.keys.log: f"{after}-0"}, count=1, block=block_ms)

    def store_identity(self) -> str:
        """The identity recorded under the prefix; a new random one if none is yet."""
        key = self.datastore.identity_key(self.application)
        with translated_errors():
            pipe = self.datastore.client.pipeline(transaction=True)
            pipe.set(key, str(uuid4()), nx=True)
            pipe.get(key)
            _, found = pipe.execute()
        return bytes(found).decode()

    def adopt_identity(self, identity: str) -> None:
        """Make ``identity`` this store's; refused once the store holds an event."""
        keys = [self.datastore.identity_key(self.application), self.keys.sequence]
        try:
            with translated_errors():
                self.datastore.adopt_identity_script(keys=keys, args=[identity])
        except ProgrammingError as error:
            if "LHNOTEMPTY" in str(error):
                raise ValueError("an event store that holds events keeps its identity") from None
            raise

    def first_position(self) -> int | None:
        """The lowest position Redis still holds; ``None`` when it holds none.

        Positions below it were trimmed after sealing and must be read from the archive.
        """
        with translated_errors():
            entries = cast("list[Entry]", self.datastore.client.xrange(self.keys.log, count=1))
        return int(entries[0][0][:-2]) if entries else None

    def trim_below(self, position: int) -> int:
        """Delete events with positions below ``position`` (global and per-aggregate copies).

        Only sealed (archived) positions may be trimmed. Last versions are kept, so a trimmed
        version is still refused on insert. Returns how many events were removed.
        """
        head = self.max_notification_id() or 0
        if position > head + 1:
            raise ValueError(f"cannot trim below position {position}: the log only reaches {head}")
        keys = self.keys
        removed = 0
        more = True
        while more:
            with translated_errors():
                count, more_flag = self.datastore.trim_script(
                    keys=[keys.log, keys.floor, keys.trimmed],
                    args=[keys.aggregate_prefix, position, TRIM_CHUNK],
                )
            removed += int(count)
            more = bool(more_flag)
        return removed


class RedisTrackingRecorder(RedisRecorder, TrackingRecorder):
    """The highest notification id each upstream application has been processed up to."""

    def insert_tracking(self, tracking: Tracking) -> None:
        self._insert((), with_log=False, tracking=tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        with translated_errors():
            raw = self.datastore.client.hget(self.tracking_key, application_name)
        return None if raw is None else int(raw)


class RedisProcessRecorder(RedisTrackingRecorder, RedisApplicationRecorder, ProcessRecorder):
    """Events and the tracking record of the upstream event they came from, in one script."""
