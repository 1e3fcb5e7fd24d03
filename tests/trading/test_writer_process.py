"""The writer-process sink: order, positions, duplicates, errors, and dying with its parent."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from api.application.backtest import WRITER_MIN_BAR_TIMES, _sink_for
from api.application.lease import hold_run
from infra.eventstore.errors import StreamVersionConflictError
from infra.eventstore.factory import open_event_store
from infra.eventstore.sink import StoreSink
from infra.eventstore.writer_process import WriterProcessError, WriterProcessSink
from tests.eventstore.events import venue_event

LONG_RUN = WRITER_MIN_BAR_TIMES


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


def test_batches_are_recorded_in_order_with_their_positions(tmp_path: Path) -> None:
    batches = [[venue_event(f"s{b}", v) for v in range(1, 301)] for b in range(5)]
    with WriterProcessSink(_url(tmp_path), max_pending=2) as sink:
        for batch in batches:
            sink.append(batch)
    assert (sink.appended, sink.duplicates) == (1_500, 0)
    assert (sink.first_position, sink.last_position) == (1, 1_500)
    store = open_event_store(_url(tmp_path))
    recorded = list(store.read_all(verify=True))
    assert [r.event_id for r in recorded] == [e.event_id for b in batches for e in b]
    assert [r.position for r in recorded] == list(range(1, 1_501))
    direct = open_event_store(f"sqlite:///{tmp_path / 'direct.db'}")
    for batch in batches:
        direct.append(batch)
    assert [r.data for r in direct.read_all()] == [r.data for r in recorded]


def test_a_batch_recorded_before_counts_as_duplicate(tmp_path: Path) -> None:
    batch = [venue_event("s", v) for v in range(1, 11)]
    with WriterProcessSink(_url(tmp_path)) as sink:
        sink.append(batch)
        sink.append(batch)
    assert (sink.appended, sink.duplicates) == (10, 10)


def test_a_conflict_is_raised_in_the_parent_and_nothing_after_it_is_written(
    tmp_path: Path,
) -> None:
    sink = WriterProcessSink(_url(tmp_path), max_pending=1)
    sink.append([venue_event("s", 1)])
    sink.append([venue_event("s", 1, tag="-other")])
    with pytest.raises(StreamVersionConflictError, match="'s' already has a different event"):
        sink.append([venue_event("t", 1)])
        sink.close()
    with pytest.raises(StreamVersionConflictError):
        sink.close()
    assert [r.event_id for r in open_event_store(_url(tmp_path)).read_all()] == ["s:1"]


def test_an_error_met_while_closing_is_raised_and_the_writer_still_reaped(
    tmp_path: Path,
) -> None:
    sink = WriterProcessSink(_url(tmp_path))
    sink.append([venue_event("s", 1)])
    sink.append([venue_event("s", 1, tag="-other")])  # answered only while closing
    with pytest.raises(StreamVersionConflictError):
        sink.close()
    with pytest.raises(ChildProcessError):  # reaped, not left behind as a zombie
        os.waitpid(sink.writer_pid, os.WNOHANG)


def test_a_dead_writer_is_reported_not_ignored(tmp_path: Path) -> None:
    sink = WriterProcessSink(_url(tmp_path))
    sink.append([venue_event("s", 1)])
    assert sink.writer_pid is not None
    os.kill(sink.writer_pid, signal.SIGKILL)
    with pytest.raises(WriterProcessError, match="exited"):
        for version in range(2, 100):
            sink.append([venue_event("s", version)])
            time.sleep(0.01)
        sink.close()


def test_the_writer_dies_with_its_parent_and_leaves_whole_batches(tmp_path: Path) -> None:
    """Killed with its parent: it does not go on appending what was queued (a resumed run
    would race it); the batches it did append are whole."""
    script = (
        "import os, signal\n"
        "from infra.eventstore.writer_process import WriterProcessSink\n"
        "from tests.eventstore.events import venue_event\n"
        f"sink = WriterProcessSink({_url(tmp_path)!r}, max_pending=100)\n"
        "for b in range(40):\n"
        "    sink.append([venue_event(f's{b}', v) for v in range(1, 2001)])\n"
        "print(sink.writer_pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    writer = int(parent.stdout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(writer):
        time.sleep(0.05)
    assert not _alive(writer)
    head = open_event_store(_url(tmp_path)).head()
    assert head < 40 * 2_000 and head % 2_000 == 0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


def test_a_store_that_cannot_be_reopened_elsewhere_records_in_process(tmp_path: Path) -> None:
    store = open_event_store(_url(tmp_path))
    with hold_run(store, "r") as lease:
        writer = _sink_for(store, LONG_RUN, lease)
        assert isinstance(writer, WriterProcessSink)
        writer.close()
        fixed = open_event_store(_url(tmp_path), clock=lambda: 7)
        assert type(_sink_for(fixed, LONG_RUN, lease)) is StoreSink


def test_a_short_run_records_in_process(tmp_path: Path) -> None:
    """Starting the writer costs ~0.25 s: a short run would only wait for it."""
    store = open_event_store(_url(tmp_path))
    with hold_run(store, "r") as lease:
        assert type(_sink_for(store, WRITER_MIN_BAR_TIMES - 1, lease)) is StoreSink


def _sink_kind(url: str) -> str:
    store = open_event_store(url)
    with hold_run(store, "r") as lease:
        return type(_sink_for(store, LONG_RUN, lease)).__name__


def test_a_daemonic_pool_worker_records_in_process(tmp_path: Path) -> None:
    """A pool worker already has a core of its own: there the backtest appends itself.

    Spawned, as ``lh optimize`` starts its workers: a fork of this test process (which holds
    chDB's and other tests' threads) can deadlock in the child on a lock held at fork time."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_sink_kind, (_url(tmp_path),)) == "StoreSink"


def test_a_store_the_writer_cannot_open_is_reported() -> None:
    sink = WriterProcessSink("nosuch://x")
    with pytest.raises(ValueError, match="scheme must be one of"):
        sink.close()


def test_the_store_url_is_not_on_the_writers_command_line(tmp_path: Path) -> None:
    """``ps`` shows command lines to every user; a URL may hold a password."""
    url = f"sqlite:///{tmp_path / 'secret-name.db'}"
    with WriterProcessSink(url) as sink:
        sink.append([venue_event("s", 1)])
        sink.drain()  # it has answered: it runs the writer's code, not the exec in between
        command_line = Path(f"/proc/{sink.writer_pid}/cmdline").read_bytes()
    assert b"infra.eventstore.writer_process" in command_line
    assert b"secret-name" not in command_line


def test_the_engine_goes_on_while_the_writer_has_not_read_its_batches(tmp_path: Path) -> None:
    """Batches beyond what the pipe holds (2 MiB of them, a 1 MiB pipe) wait in the feeding
    thread, not in ``append``; once the writer reads again, all are recorded in order."""
    batches = [[venue_event(f"s{b}", v) for v in range(1, 2_001)] for b in range(12)]
    sink = WriterProcessSink(_url(tmp_path), max_pending=len(batches))
    os.kill(sink.writer_pid, signal.SIGSTOP)
    try:

        def append_all() -> None:
            for batch in batches:
                sink.append(batch)

        appending = threading.Thread(target=append_all)
        appending.start()
        appending.join(timeout=60)  # blocked on the full pipe, it would never end
        assert not appending.is_alive()
    finally:
        os.kill(sink.writer_pid, signal.SIGCONT)
    sink.close()
    assert (sink.appended, sink.last_position) == (24_000, 24_000)
    recorded = [r.event_id for r in open_event_store(_url(tmp_path)).read_all()]
    assert recorded == [e.event_id for b in batches for e in b]
