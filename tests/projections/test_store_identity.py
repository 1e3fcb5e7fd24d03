"""Store identity: each event store has one, read models record theirs and refuse another's.

Two event stores pointed at one read model used to end in "caught up", exit 0, with nothing
applied (the read model's checkpoint was taken for the second store's position). Now the
second store's ``lh projections run`` exits 2, names both identities and the fix, and applies
nothing; ``rebuild`` adopts the configured store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from infra.settings import load_settings
from projections.registry import open_projections
from projections.sql import migrate
from projections.sql.engine import create_read_model_engine
from tests.projections.support import append_all, synthetic_batches

BARS_A, BARS_B = 20, 30


def _lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


@dataclass
class Store:
    """One event store as the CLI sees it: its settings and identity."""

    env: dict[str, str]
    identity: str
    head: int


def _filled(url: str, prefix: str, bars: int, env: dict[str, str] | None = None) -> Store:
    store = open_event_store(url, key_prefix=prefix)
    try:
        append_all(store, synthetic_batches(bars))
        default = {"LH_EVENT_STORE": url, "LH_REDIS_KEY_PREFIX": prefix}
        return Store(env or default, store.identity, store.head())
    finally:
        store.close()


def _in_var_dir(var: Path, bars: int) -> Store:
    """The embedded default store of ``LH_VAR_DIR=var``."""
    return _filled(f"sqlite:///{var / 'events.sqlite'}", "lh", bars, {"LH_VAR_DIR": str(var)})


def _two_stores(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Store, Store]:
    """Two independent event stores with different logs: SQLite files in two var dirs, or two
    key prefixes on one Redis."""
    if kind == "redis":
        url = str(request.getfixturevalue("redis_url"))
        prefix = str(request.getfixturevalue("redis_prefix"))
        return _filled(url, f"{prefix}-a", BARS_A), _filled(url, f"{prefix}-b", BARS_B)
    return _in_var_dir(tmp_path / "var-a", BARS_A), _in_var_dir(tmp_path / "var-b", BARS_B)


def _read_model(request: pytest.FixtureRequest, tmp_path: Path, target: str) -> dict[str, str]:
    if target == "sqlite":
        return {"LH_SQL_URL": f"sqlite:///{tmp_path / 'readmodel.sqlite'}"}
    if target == "mysql":
        return {"LH_SQL_URL": str(request.getfixturevalue("mysql_url"))}
    if target == "chdb":
        return {"LH_CLICKHOUSE_URL": f"chdb://{tmp_path / 'analytics'}"}
    if target == "s3":
        return {"LH_OBJECT_STORE": str(request.getfixturevalue("s3_url"))}
    return {"LH_OBJECT_STORE": f"file://{tmp_path / 'objects'}"}


def _use(monkeypatch: pytest.MonkeyPatch, *envs: dict[str, str]) -> None:
    for env in envs:
        for key, value in env.items():
            monkeypatch.setenv(key, value)


def _recorded(only: str) -> tuple[int, str | None]:
    """(checkpoint, recorded source) of one read model, opened without any store."""
    (projection,) = open_projections(load_settings(), [only])
    try:
        return projection.checkpoint(), projection.source()
    finally:
        projection.close()


@pytest.mark.parametrize(
    ("kind", "only", "where"),
    [
        ("sqlite", "sql", "sqlite"),
        ("redis", "sql", "mysql"),
        ("sqlite", "clickhouse", "chdb"),
        ("sqlite", "objectstore", "local"),
        ("sqlite", "objectstore", "s3"),
    ],
)
def test_a_read_model_refuses_another_event_store(
    kind: str,
    only: str,
    where: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = _two_stores(kind, request, tmp_path)
    target = _read_model(request, tmp_path, where)
    _use(monkeypatch, target, first.env)
    code, out = _lh("projections", "run", "--only", only)
    assert code == 0, out
    assert _recorded(only) == (first.head, first.identity)

    _use(monkeypatch, second.env)
    code, out = _lh("projections", "run", "--only", only)
    assert code == 2, out
    assert f"built from event store {first.identity}" in out
    assert f"configured event store is {second.identity}" in out
    assert f"lh projections rebuild {only}" in out and next(iter(target)) in out
    assert "Traceback" not in out
    assert _recorded(only) == (first.head, first.identity)  # nothing applied, nothing adopted
    for command in ("status", "verify"):
        assert _lh("projections", command, "--only", only)[0] == 2

    code, out = _lh("projections", "rebuild", only, "--yes")
    assert code == 0, out
    assert _recorded(only) == (second.head, second.identity)
    assert _lh("projections", "run", "--only", only)[0] == 0

    _use(monkeypatch, first.env)  # now the first store is the stranger
    code, out = _lh("projections", "run", "--only", only)
    assert code == 2 and f"built from event store {second.identity}" in out, out


def test_a_read_model_ahead_of_the_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same identity (a copied file) but fewer events: the read model holds events the store
    lacks, e.g. after restoring an archive without its unsealed tail."""
    full = _filled(f"sqlite:///{tmp_path / 'full.sqlite'}", "lh", BARS_A)
    shorter = tmp_path / "shorter.sqlite"
    with sqlite3.connect(tmp_path / "full.sqlite") as source, sqlite3.connect(shorter) as copy:
        source.backup(copy)
        copy.execute("DELETE FROM stored_events WHERE rowid > 10")
    _use(monkeypatch, full.env, {"LH_SQL_URL": f"sqlite:///{tmp_path / 'rm.sqlite'}"})
    assert _lh("projections", "run", "--only", "sql")[0] == 0
    monkeypatch.setenv("LH_EVENT_STORE", f"sqlite:///{shorter}")
    code, out = _lh("projections", "run", "--only", "sql")
    assert code == 2, out
    assert f"at position {full.head}" in out and "only reaches 10" in out


def test_an_empty_read_model_adopts_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _filled(f"sqlite:///{tmp_path / 'events.sqlite'}", "lh", BARS_A)
    _use(monkeypatch, store.env, {"LH_SQL_URL": f"sqlite:///{tmp_path / 'rm.sqlite'}"})
    code, out = _lh("projections", "status", "--only", "sql", "--json")
    assert code == 0, out
    assert _recorded("sql") == (0, None)  # status records nothing
    assert _lh("projections", "run", "--only", "sql")[0] == 0
    assert _recorded("sql") == (store.head, store.identity)


def _sqlite(tmp_path: Path, name: str) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / name}")


@pytest.fixture(params=["sqlite", "redis"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], EventStore]:
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        return lambda name: open_event_store(url, key_prefix=f"{prefix}-{name}")
    return lambda name: _sqlite(tmp_path, f"{name}.sqlite")


def test_identity_is_created_once_kept_and_differs_between_stores(
    opener: Callable[[str], EventStore],
) -> None:
    one = opener("one")
    identity = one.identity
    append_all(one, synthetic_batches(2))
    again = opener("one")
    other = opener("other")
    assert again.identity == identity and other.identity != identity
    with pytest.raises(ValueError, match="keeps its identity"):
        again.adopt_identity(other.identity)
    assert opener("one").identity == identity
    other.adopt_identity(identity)  # empty: allowed (archive restore)
    assert opener("other").identity == identity
    for store in (one, again, other):
        store.close()


def test_a_store_from_an_older_version_gets_an_identity_at_first_open(tmp_path: Path) -> None:
    store = _sqlite(tmp_path, "old.sqlite")
    append_all(store, synthetic_batches(2))
    head = store.head()
    store.close()
    with sqlite3.connect(tmp_path / "old.sqlite") as connection:
        connection.execute("DROP TABLE lh_store_identity")
    reopened = _sqlite(tmp_path, "old.sqlite")
    identity = reopened.identity
    assert reopened.head() == head and _sqlite(tmp_path, "old.sqlite").identity == identity
    reopened.close()


def test_store_info_shows_the_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    monkeypatch.setenv("LH_EVENT_STORE", url)
    code, out = _lh("store", "info")
    assert code == 0, out
    assert f"store identity: {open_event_store(url).identity}" in out


def test_a_read_model_built_before_identities_is_rebuilt_from_the_configured_store(
    sql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read model left by a version before identities (revision 0001) is emptied by the
    upgrade (0003: its PnL was folded at average cost), so the next run rebuilds it from the
    configured store and records that store; from then on it refuses any other."""
    store = _filled(f"sqlite:///{tmp_path / 'events.sqlite'}", "lh", BARS_A)
    _use(monkeypatch, store.env, {"LH_SQL_URL": sql_url})
    assert _lh("projections", "run", "--only", "sql")[0] == 0
    engine = create_read_model_engine(sql_url)
    migrate.downgrade(engine, "0001")  # as an older version left it: no store_id column
    engine.dispose()
    code, out = _lh("projections", "status", "--only", "sql")
    assert code == 0, out
    assert _recorded("sql") == (0, None)
    assert _lh("projections", "run", "--only", "sql")[0] == 0
    assert _recorded("sql") == (store.head, store.identity)
    other = _filled(f"sqlite:///{tmp_path / 'more.sqlite'}", "lh", BARS_B)
    _use(monkeypatch, other.env)
    code, out = _lh("projections", "run", "--only", "sql")
    assert code == 2 and f"built from event store {store.identity}" in out, out


@pytest.mark.parametrize("name", ["clickhouse", "objectstore"])
def test_attach_records_the_source_of_rows_applied_without_one(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows applied by a version without identities get the store recorded at first bind."""
    _use(
        monkeypatch,
        {
            "LH_CLICKHOUSE_URL": f"chdb://{tmp_path / 'analytics'}",
            "LH_OBJECT_STORE": f"file://{tmp_path / 'objects'}",
        },
    )
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    store = _filled(url, "lh", BARS_A)
    (projection,) = open_projections(load_settings(), [name])
    projection.apply(list(open_event_store(url).read_all()))  # never attached: nothing recorded
    assert projection.source() is None
    projection.attach(store.identity)
    projection.close()
    assert _recorded(name) == (store.head, store.identity)
