"""``lh report``'s use case: generate -> cross-check -> render -> publish -> manifest.

The replay of every figure, and the chain check of the range it covers, run in a child process
beside the build where the store can be opened there again (``replay_process``). Nothing is
written before the cross-check passes: a figure the replay of the log does not reproduce, a
replay that fails, or a log range that fails its chain check, refuses the whole report in one
line.
A report is published under ``reports/KIND/ACCOUNT/FROM_TO/VARIANT/`` (VARIANT: ``all``,
``strategy-S`` or ``run-R``), its files first and ``manifest.json`` last; one whose manifest
is already there is not written again (the store is write-once), the files are still
written to ``--out``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from adapters.objectstore import ObjectStore
from api.application.reporting import replay_process
from api.application.reporting.formats import CONTENT_TYPES, pdf_page, render
from api.application.reporting.kinds import KINDS, ReportKind
from api.application.reporting.manifest import (
    Coverage,
    archive_segments,
    build_manifest,
)
from api.application.reporting.pdf_process import PdfBeside
from api.application.reporting.publish import publish_object
from api.application.reporting.replay_process import ReplayBeside
from infra.archive.layout import Archive
from infra.eventstore.store import EventStore
from infra.settings import Retention
from projections.integrity import IntegrityReport
from projections.queries.reports.crosscheck import cross_check
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.software import software_line
from projections.queries.reports.source import ReportScope, ReportScopeError, ReportSource

MANIFEST = "manifest.json"


class ReportRefusedError(RuntimeError):
    """The report was not published: a figure disagrees with the log, or the log is broken."""


@dataclass(frozen=True)
class ReportRequest:
    scope: ReportScope
    formats: tuple[str, ...]
    out_dir: Path | None = None


@dataclass(frozen=True)
class GeneratedReport:
    """Where the report went and its manifest; ``published`` is False when the object store
    already held it."""

    key_prefix: str
    published: bool
    out_dir: Path | None
    manifest: dict[str, Any]


def key_prefix(scope: ReportScope) -> str:
    """``reports/KIND/ACCOUNT/FROM_TO/VARIANT/`` of a scope whose run is resolved."""
    if scope.run is not None:
        variant = f"run-{scope.run}"
    elif scope.strategy is not None:
        variant = f"strategy-{scope.strategy}"
    else:
        variant = "all"
    return f"reports/{scope.kind}/{scope.owner}/{scope.period}/{variant}/"


@dataclass(frozen=True)
class _Generated:
    source: ReportSource
    document: ReportDocument
    replayed: Mapping[str, str]
    chain: Callable[[], IntegrityReport | None]
    """The chain check of the covered positions: the replay's child made it, else this one."""


def _generate(
    kind: ReportKind, scope: ReportScope, store: EventStore, engine: Engine, head: int | None
) -> _Generated:
    """The document and the replayed figures: the replay (and the chain check) in a child
    process beside the build where it can run there, else both here."""
    beside = replay_process.possible(store)
    source = ReportSource.open(store, scope, engine=engine, head=head, check_chain=not beside)
    if not beside:
        document, figures = kind.generate(source, source.scope)
        return _Generated(source, document, figures, source.chain_check)
    replay = ReplayBeside(kind.replay, source)
    try:
        document = kind.build(source, source.scope)
        replayed = replay.result()
    finally:
        replay.close()
    if replayed.covered != source.covered():
        raise ReportRefusedError(
            "report not published: the replay read the window at positions "
            f"{_span(replayed.covered)}, the report at {_span(source.covered())}"
        )
    return _Generated(source, document, replayed.figures, lambda: replayed.chain)


def _span(covered: tuple[int, int]) -> str:
    return f"{covered[0]}..{covered[1]}"


def generate_report(
    request: ReportRequest,
    store: EventStore,
    engine: Engine,
    objects: ObjectStore,
    *,
    now: Callable[[], datetime],
    head: int | None = None,
    archive: Archive | None = None,
    retention: Retention | None = None,
) -> GeneratedReport:
    """Generate, cross-check, render and publish one report of the log up to ``head`` (the
    position the read model was caught up to; default the log's head)."""
    kind = KINDS.get(request.scope.kind)
    if kind is None:
        raise ReportScopeError(
            f"report kind {request.scope.kind!r} is not available (one of {', '.join(KINDS)})"
        )
    generated = _generate(kind, request.scope, store, engine, head)
    source, document = generated.source, generated.document
    scope = source.scope
    disagreements = cross_check(document, generated.replayed)
    if disagreements:
        others = ", ".join(d.figure for d in disagreements[1:])
        more = f" (also {others})" if others else ""
        raise ReportRefusedError(f"report not published: {disagreements[0]}{more}")
    first, last = source.covered()
    formats, software = request.formats, software_line()
    pdf = (
        PdfBeside(pdf_page(document, software, csv_written="csv" in formats))
        if "pdf" in formats
        else None
    )  # printed on another core while the other formats are written (and the chain checked
    # here, unless the replay's child or the kind's single pass checked it)
    try:
        chain = generated.chain()
        if chain is not None and not chain.ok:
            finding = chain.findings[0]
            raise ReportRefusedError(
                f"report not published: the log fails its chain check at position "
                f"{finding.position} ({finding.problem}); see lh audit verify"
            )
        files = render(document, tuple(f for f in formats if f != "pdf"), software)
        if pdf is not None:
            files["report.pdf"] = pdf.result()
    finally:
        if pdf is not None:
            pdf.close()
    generated_at = now()
    retain_until = (retention or Retention()).until("reports", generated_at)
    prefix = key_prefix(scope)
    manifest = build_manifest(
        document,
        files,
        Coverage(first, last, chain, len(document.figures())),
        key_prefix=prefix,
        segments=archive_segments(archive, first, last),
        generated_at=generated_at,
        retain_until=retain_until,
    )
    published = not objects.exists(prefix + MANIFEST)
    if published:
        for name, data in sorted(files.items()):
            content_type = CONTENT_TYPES[name.rsplit(".", 1)[1]]
            publish_object(objects, prefix + name, data, content_type, retain_until=retain_until)
        publish_object(
            objects, prefix + MANIFEST, manifest, CONTENT_TYPES["json"], retain_until=retain_until
        )
    if request.out_dir is not None:
        for name, data in {**files, MANIFEST: manifest}.items():
            path = request.out_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return GeneratedReport(prefix, published, request.out_dir, json.loads(manifest))
