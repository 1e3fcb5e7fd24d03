"""Is the live log intact? One pass over the log that `lh audit verify` reports on.

Checked for every position in the range: positions are contiguous up to the head and nothing
lies beyond it; each stream's versions go up by one; event ids, fill ids (``FillRecorded``)
and order ids (``OrderSubmitted``) are unique; the payload hash recomputes; and the chain link
(``domain/events/chain.py``) recomputes from the stored predecessor's chain hash and the
event's hash. Each link is checked on its own (not the whole chain recomputed from genesis),
so one edited, inserted or deleted event is one finding, not a cascade; with no findings the
two are the same thing. What the chain cannot catch alone (a suffix forged with recomputed
chain hashes, the newest events removed with their chain) the anchors catch: chain hashes kept
outside the store (``infra/archive/anchors.py``), checked at their positions.

Positions the store keeps no chain hash for (trimmed from Redis after sealing, or recorded
before the chain existed: Redis keeps their chain as one base hash) are chained here from the
records and checked where a stored hash resumes.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from eventsourcing.persistence import Notification

from domain.events import chain
from domain.events.codec import canonical_json
from domain.events.envelope import RecordedEvent
from infra.archive.errors import ArchiveCorruptError
from infra.archive.history import HistoryReport, check_history
from infra.archive.layout import Archive
from infra.archive.livechain import recompute
from infra.archive.verify import check_links, check_store_link
from infra.eventstore.store import EventStore
from projections.verify import VerifyResult

Progress = Callable[[int, int], None]

UNIQUE_PAYLOAD_IDS = {"FillRecorded": "fill_id", "OrderSubmitted": "order_id"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where, what should be there, what is."""

    position: int
    problem: str
    expected: str
    found: str

    def as_dict(self) -> dict[str, object]:
        return {
            "position": self.position,
            "problem": self.problem,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass
class IntegrityReport:
    """What was checked and every finding; ``ok`` when there are none."""

    first: int
    last: int
    head: int
    events: int = 0
    head_chain_hash: bytes | None = None
    anchors: int = 0
    findings: list[Finding] = field(default_factory=list)
    read_models: dict[str, str] = field(default_factory=dict)
    """Each read model checked and its verdict (empty with ``--log-only``)."""

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "events": self.events,
            "from": self.first,
            "to": self.last,
            "head": self.head,
            "head_chain_hash": None if self.head_chain_hash is None else self.head_chain_hash.hex(),
            "anchors": self.anchors,
            "findings": [f.as_dict() for f in self.findings],
            "read_models": self.read_models,
        }


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """What the check reads from a record's stored state, taken from a parse made elsewhere
    (a report's pass decodes the record anyway): the event id, the payload's hash recomputed
    and as recorded, and the payload's unique id (``UNIQUE_PAYLOAD_IDS``) if it has one."""

    event_id: str
    computed_hash: str
    recorded_hash: str
    payload_id: str | None


def parsed_record(event: RecordedEvent) -> ParsedRecord | None:
    """``event``'s part of the check, from its decoded payload, or ``None`` when an upcaster
    changed the payload (its hash is then that of the stored one, which only the record holds).
    Take it before anyone else sees ``event``: the payload must be as decoded."""
    if event.stored_schema_version != event.event_class.schema_version:
        return None
    payload = event.data
    id_field = UNIQUE_PAYLOAD_IDS.get(event.event_type)
    return ParsedRecord(
        str(event.event_id),
        hashlib.sha256(canonical_json(payload)).hexdigest(),
        event.payload_hash,
        None if id_field is None else str(payload.get(id_field)),
    )


@dataclass
class _Scan:
    """Running state of one pass."""

    report: IntegrityReport
    stored: dict[int, bytes]
    held_from: int
    base: tuple[int, bytes] | None
    expected_position: int
    running: bytes | None
    versions: dict[str, int] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    anchors: dict[int, bytes] = field(default_factory=dict)

    def find(self, position: int, problem: str, expected: object, found: object) -> None:
        self.report.findings.append(Finding(position, problem, str(expected), str(found)))


def verify_log(
    store: EventStore,
    *,
    first: int = 1,
    last: int | None = None,
    anchors: dict[int, bytes] | None = None,
    progress: Progress | None = None,
) -> IntegrityReport:
    """Check positions ``first..last`` (default: to the head) of ``store``'s log, and the
    chain against ``anchors`` (position -> chain hash kept outside the store) in the range."""
    head = store.head()
    upto = head if last is None else min(last, head)
    verifier = ChainVerifier(store, first=first, head=head, anchors=anchors, until=upto)
    for page in store.read_notifications(first - 1, stop=upto):
        verifier.feed(page)
        if progress is not None:
            progress(page[-1].id, upto)
    return verifier.finish(upto)


class ChainVerifier:
    """``verify_log`` fed the stored records in log order from ``first``, a page at a time: a
    reader that reads the range anyway (a report's single pass over the log) checks it on the
    way instead of reading it again. ``finish(last)`` ends the check at ``last``, the last
    position fed, with the findings ``verify_log(first=first, last=last)`` gives.

    ``head``: the log's head the check reports against (default: the store's head when
    finished); ``until``: how far the store's chain hashes are read (default the head)."""

    def __init__(
        self,
        store: EventStore,
        *,
        first: int = 1,
        head: int | None = None,
        anchors: dict[int, bytes] | None = None,
        until: int | None = None,
    ) -> None:
        self._store, self._first, self._head = store, first, head
        self._anchors = anchors or {}
        self._scan = _Scan(
            report=IntegrityReport(first=first, last=first - 1, head=head or 0),
            stored={},
            held_from=store.held_from(),
            base=store.chain_base(),
            expected_position=first,
            running=chain.GENESIS if first == 1 else None,
            seen={"event id": set(), **{name: set() for name in UNIQUE_PAYLOAD_IDS.values()}},
            anchors={p: h for p, h in self._anchors.items() if first <= p},
        )
        stop = until if until is not None else head if head is not None else store.head()
        self._links = _Pages(store.read_chain(max(first - 2, 0), stop=stop))

    def feed(
        self, page: Sequence[Notification], parsed: dict[int, ParsedRecord] | None = None
    ) -> None:
        """Check the next records, consecutive in the log (a gap among them is a finding);
        ``parsed``: position -> ``parsed_record`` of records already parsed (taken out as
        they are checked), the others are parsed here."""
        if not page:
            return
        scan = self._scan
        scan.stored.update(self._links.upto(page[-1].id))
        if scan.running is None:
            scan.running = scan.stored.get(self._first - 1)
        take = (parsed or {}).pop
        for notification in page:
            _check(scan, notification, take(notification.id, None))

    def finish(self, last: int) -> IntegrityReport:
        """The report on ``first..last``: what no record showed (missing events up to
        ``last``, and at the head: strays, chain hashes or anchors past it) added."""
        scan, store = self._scan, self._store
        report = scan.report
        head = store.head() if self._head is None else self._head
        upto = min(last, head)
        report.last, report.head = upto, head
        report.anchors = sum(1 for p in self._anchors if self._first <= p <= upto)
        if scan.expected_position <= upto:
            scan.find(
                scan.expected_position,
                "missing events",
                f"positions {scan.expected_position}..{upto} (the head is {head})",
                "none",
            )
        _check_beyond_head(store, scan, upto)
        if upto == head:
            for position in sorted(p for p in self._anchors if p > head):
                scan.find(position, "anchor past the head", f"the log to reach {position}", head)
        report.findings = _merged_unchained(report.findings)
        report.head_chain_hash = scan.stored.get(upto) or (
            scan.running if upto == scan.expected_position - 1 else None
        )
        return report


def verify_archive_link(
    store: EventStore, archive: Archive, *, first: int = 1, last: int | None = None
) -> list[Finding]:
    """The archive against the live chain: the manifest's links (the segments' chain, the
    live chain hashes at segment ends each continuing the last), every segment overlapping
    ``first..last`` read and its live chain recomputed from its records, the store's chain
    hash equal at each segment end it still holds, and the store's record of how far it was
    sealed not past the manifest."""
    try:
        manifest = archive.load_manifest()
    except ArchiveCorruptError as error:
        return [Finding(0, "archive", "a readable manifest", str(error))]
    problems = [*check_links(archive, manifest), *check_store_link(manifest, store)]
    found = [Finding(p.position or p.first or 0, "archive", _INTACT, str(p)) for p in problems]
    for entry in manifest.segments:
        if entry.last < first or (last is not None and entry.first > last):
            continue
        try:
            records = archive.read_segment(entry)
        except ArchiveCorruptError as error:
            found.append(Finding(entry.first, "archive", _INTACT, str(error)))
            continue
        if entry.live_prev is None or entry.live_chain is None:
            continue  # sealed before the archive recorded the live chain
        computed = recompute(entry.live_prev, records)
        if computed != entry.live_chain:
            found.append(Finding(entry.last, "archive live chain", entry.live_chain, computed))
    return found


_INTACT = "an archive that continues the live chain"


def verify_archive_history(archive: Archive) -> tuple[HistoryReport, list[Finding]]:
    """The archive's object versions (``infra/archive/history.py``): a segment or anchor
    replaced or hidden after it was written, or a manifest version that dropped or changed
    entries, even when the current objects agree with each other. The report says whether
    the object store keeps a history to check at all."""
    history = check_history(archive)
    return history, [
        Finding(f.first or 0, "archive object version", _WRITTEN_ONCE, f"{f.key}: {f.message}")
        for f in history.findings or ()
    ]


_WRITTEN_ONCE = "segments and anchors written once, the manifest only appended to"


def check_read_models(report: IntegrityReport, results: Sequence[VerifyResult]) -> None:
    """Each read model's consistency into ``report``: every row that differs from the log's
    state, a read model stopped on an event, or one behind the head, is a finding. One never
    built (at position 0, no failure) is only listed: nothing reads it."""
    for result in results:
        name, at = result.name, result.position
        kind = f"read model {name}"
        if result.failure:
            report.findings.append(Finding(at + 1, f"{kind} failed", "applied", result.failure))
            verdict = "failed"
        elif result.skipped:
            verdict = f"not checked: {result.skipped}"
        elif at == 0 and not result.mismatches:
            verdict = "not built"
        elif result.behind:
            report.findings.append(
                Finding(at, f"{kind} behind", f"position {result.head}", f"position {at}")
            )
            verdict = f"behind the log by {result.behind} event(s)"
        else:
            verdict = f"matches the log at position {at}"
        for mismatch in result.mismatches:
            report.findings.append(Finding(at, f"{kind} row", "the state the log gives", mismatch))
        if result.mismatches:
            verdict = f"{len(result.mismatches)} mismatch(es)"
        report.read_models[name] = verdict


def _check(scan: _Scan, n: Notification, parsed: ParsedRecord | None) -> None:
    """Check one record; of its own problems only the most precise is reported (an edited
    payload also breaks its chain link: the payload hash says more)."""
    position = n.id
    if position != scan.expected_position:
        scan.find(position, "gap", f"position {scan.expected_position}", f"position {position}")
        scan.running = scan.stored.get(position - 1)
    scan.expected_position = position + 1
    scan.report.events += 1
    stream = str(n.originator_id)
    record = (stream, n.originator_version, n.topic, chain.stored_bytes(n.state))
    link = _check_link(scan, position, record)
    anchored = scan.anchors.get(position)
    if anchored is not None and scan.running is not None and scan.running != anchored:
        scan.find(position, "anchor", anchored.hex(), scan.running.hex())
        link = None  # the anchor finding says more
    before = len(scan.report.findings)
    _check_record(scan, n, stream, parsed or _parsed(scan, n))
    if link is not None and len(scan.report.findings) == before:
        scan.report.findings.append(link)


def _parsed(scan: _Scan, n: Notification) -> ParsedRecord | None:
    """The record's part of the check from its stored state (``None``: a finding)."""
    try:
        state = orjson.loads(n.state)
        payload: dict[str, Any] = state["payload"]
        event_id = str(state["event_id"])
        recorded_hash = state["payload_hash"]
    except (ValueError, KeyError, TypeError) as error:
        scan.find(n.id, "undecodable event", f"an event ({n.topic})", f"{error}")
        return None
    id_field = UNIQUE_PAYLOAD_IDS.get(n.topic)
    return ParsedRecord(
        event_id,
        hashlib.sha256(canonical_json(payload)).hexdigest(),
        recorded_hash,
        None if id_field is None else str(payload.get(id_field)),
    )


def _check_record(scan: _Scan, n: Notification, stream: str, parsed: ParsedRecord | None) -> None:
    if parsed is None:
        return  # undecodable: found
    position = n.id
    if not _unique(scan, position, "event id", parsed.event_id):
        return  # the same event twice: its version and ids repeat for the same reason
    if parsed.computed_hash != parsed.recorded_hash:
        scan.find(position, "payload hash", parsed.computed_hash, parsed.recorded_hash)
    previous = scan.versions.get(stream)
    version = n.originator_version
    if previous is not None and version != previous + 1:
        scan.find(position, f"stream {stream} version", previous + 1, version)
    elif previous is None and scan.report.first == 1 and version != 1:
        scan.find(position, f"stream {stream} version", 1, version)
    scan.versions[stream] = max(version, previous or 0)
    if parsed.payload_id is not None:
        _unique(scan, position, UNIQUE_PAYLOAD_IDS[n.topic], parsed.payload_id)


def _unique(scan: _Scan, position: int, kind: str, value: str) -> bool:
    seen = scan.seen[kind]
    if value in seen:
        scan.find(position, f"duplicate {kind}", f"a {kind} not seen before", value)
        return False
    seen.add(value)
    return True


def _check_link(scan: _Scan, position: int, record: chain.Record) -> Finding | None:
    """The finding, if any, on the chain link at ``position`` (checked against the stored
    predecessor's chain hash); moves the running chain hash on."""
    computed = None if scan.running is None else chain.link(scan.running, position, record)
    stored = scan.stored.pop(position, None)
    scan.stored.pop(position - 2, None)  # keep the predecessor only: memory stays flat
    if stored is not None:
        scan.stored[position] = stored
        scan.running = stored
        if computed is not None and computed != stored:
            return Finding(position, "chain hash", computed.hex(), stored.hex())
        return None
    scan.running = computed
    if scan.base is not None and position <= scan.base[0]:
        if position == scan.base[0] and computed is not None and computed != scan.base[1]:
            return Finding(position, "chain base hash", computed.hex(), scan.base[1].hex())
        return None
    if position < scan.held_from:
        return None  # trimmed from the store after sealing: chained here from the archive
    return Finding(position, "chain hash", _UNCHAINED, "none")


_UNCHAINED = "a chain hash recorded with the event"


def _merged_unchained(findings: list[Finding]) -> list[Finding]:
    """Consecutive positions without a chain hash (a store that predates the chain and has not
    appended since, or rows written outside the store) as one finding for the range."""
    merged: list[Finding] = []
    last = 0
    for finding in findings:
        previous = merged[-1] if merged else None
        if (
            finding.expected == _UNCHAINED
            and previous is not None
            and previous.problem == "chain hash"
            and previous.found == "none"
            and last == finding.position - 1
        ):
            merged[-1] = Finding(
                previous.position,
                "chain hash",
                f"chain hashes recorded with positions {previous.position}..{finding.position}",
                "none",
            )
        else:
            merged.append(finding)
        last = finding.position
    return merged


def _check_beyond_head(store: EventStore, scan: _Scan, upto: int) -> None:
    """Entries past the head (a Redis stray) and chain hashes past it (a deleted last event)."""
    if upto != scan.report.head:
        return
    for entry in store.entries_beyond_head():
        scan.find(
            scan.report.head + 1,
            "stray entry",
            f"nothing past the head {scan.report.head}",
            f"entry {entry}",
        )
    for page in store.read_chain(upto):
        for position, _ in page[:1]:
            scan.find(
                position,
                "missing event",
                f"the event the chain records at position {position}",
                f"the log ends at {upto}",
            )
        break


class _Pages:
    """Chain pages consumed up to a position, so links and records advance together."""

    def __init__(self, pages: Iterator[list[tuple[int, bytes]]]) -> None:
        self._pages = pages
        self._pending: deque[tuple[int, bytes]] = deque()

    def upto(self, position: int) -> Iterator[tuple[int, bytes]]:
        pending = self._pending
        while True:
            if not pending:
                pending.extend(next(self._pages, []))
                if not pending:
                    return
            while pending and pending[0][0] <= position:
                yield pending.popleft()
            if pending:
                return
