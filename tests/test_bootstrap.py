"""The composition root: what it is given is what the runs use; the venue registry refuses an
unknown name in one line; the config file has one reader and its tables are frozen sub-configs
that the commands apply."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from adapters.marketdata import read_bars
from adapters.objectstore import LocalObjectStore
from adapters.venue.registry import VENUES, UnknownVenueError, VenueConfig
from adapters.venue.simulated import SimulatedVenue, SimulatedVenueConfig
from api.application.backtest import run_backtest
from api.application.bootstrap import App, bootstrap
from api.application.optimize import run_grid
from api.application.paper import WallClock, run_paper
from api.application.runs import BacktestConfig, prepare_run
from api.cli import app as cli
from domain.engine.ports import Clock, SimulatedClock, Venue
from domain.events.envelope import RecordedEvent
from domain.events.types import RunMode
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from infra.settings import ConfigError, load_settings
from tests.trading.helpers import wave_bars, write_bars_csv

ROOT = Path(__file__).resolve().parent.parent
FIXED_US = 1_700_000_000_000_000
runner = CliRunner()


def marked_venue(config: VenueConfig) -> Venue:
    """A simulated venue whose ids say it came from this factory (a module function, so it
    pickles into ``lh optimize``'s worker processes)."""
    return SimulatedVenue(name="INJECTED", commission=config.commission)


class FixedClock:
    def now_us(self) -> int:
        return FIXED_US

    def observe(self, time_us: int) -> None:
        return None


def fixed_clock(mode: RunMode) -> Clock:
    return FixedClock()


def sma_config(**values: object) -> BacktestConfig:
    defaults: dict[str, object] = {
        "bars": {"BTC": wave_bars(200)},
        "strategy": "sma_cross",
        "params": {"fast": "5", "slow": "15"},
    }
    return BacktestConfig(**(defaults | values))  # type: ignore[arg-type]


def venue_ids(store: EventStore) -> set[str]:
    return {
        event.data["venue_order_id"].rsplit("-", 1)[0]
        for event in store.read_all()
        if event.event_type == "OrderAccepted"
    }


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'injected.sqlite'}")


def test_an_injected_store_and_venue_factory_are_what_a_backtest_uses(store: EventStore) -> None:
    app = bootstrap(store=store, venues={"sim": marked_venue})
    with app.event_store() as lent:
        assert lent is store
        result = run_backtest(
            sma_config(), lent, venues=app.venues, clock=app.clock(RunMode.BACKTEST)
        )
    assert store.head() == result.last_position > 0  # lent, not closed by the App
    assert venue_ids(store) == {"INJECTED"}


def test_an_injected_clock_stamps_a_paper_run(store: EventStore) -> None:
    app = bootstrap(store=store, clock=fixed_clock)
    run_paper(sma_config(), store, speed=0, venues=app.venues, clock=app.clock(RunMode.PAPER))
    times = {event.event_time_us for event in store.read_all()}
    assert times == {FIXED_US} and venue_ids(store) == {"SIM"}


def test_the_venue_registry_reaches_the_optimizer_workers(store: EventStore) -> None:
    app = bootstrap(store=store, venues={"sim": marked_venue})
    runs = run_grid(sma_config(), {"fast": ["4", "6"]}, store, jobs=1, venues=app.venues)
    assert [run.error for run in runs] == ["", ""]
    assert venue_ids(store) == {"INJECTED"}


def test_default_clocks_follow_the_bars_in_a_backtest_and_the_wall_in_paper() -> None:
    app = bootstrap()
    assert isinstance(app.clock(RunMode.BACKTEST), SimulatedClock)
    assert isinstance(app.clock(RunMode.PAPER), WallClock)
    assert app.clock(RunMode.BACKTEST) is not app.clock(RunMode.BACKTEST)  # one per run


def test_the_object_store_and_archive_follow_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_ARCHIVE_ID", "books-2026")
    app = bootstrap()
    assert app.archive().archive_id == "books-2026"
    injected = LocalObjectStore(tmp_path / "objects", f"file://{tmp_path / 'objects'}")
    assert bootstrap(object_store=injected).archive().objects is injected


def test_the_registry_refuses_an_unknown_venue_listing_the_known_ones() -> None:
    with pytest.raises(UnknownVenueError) as raised:
        VENUES.factory("fix")
    assert str(raised.value) == "unknown venue 'fix'; known venues: ccxt, sim"
    more = VENUES.replaced({"paper2": marked_venue})
    with pytest.raises(UnknownVenueError, match=r"known venues: ccxt, paper2, sim$"):
        more.factory("nope")
    assert VENUES.names() == ["ccxt", "sim"]  # replaced() returns a new registry


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[venue.ccxt]\napi_key = 'x'\n", "unknown venue 'ccxt'; known venues: sim"),
        ("[venue.sim]\ncomission = '0'\n", "venue.sim.comission"),
        ("[venue.sim]\ncommission = 'cheap'\n", "venue.sim.commission"),
        ("[risk]\nmax_bananas = 3\n", "unknown risk limit 'max_bananas'"),
    ],
)
def test_a_bad_table_is_one_line_naming_it_for_every_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, expected: str
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text(toml)
    monkeypatch.setenv("LH_CONFIG", str(config))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_settings()
    result = runner.invoke(cli, ["store", "info"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and str(config) in lines[0]


def test_sub_configs_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.event_store = "sqlite:///elsewhere.sqlite"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.stores.event_store = "sqlite:///elsewhere.sqlite"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.venue.sim.commission = Decimal(0)  # type: ignore[misc]


def test_the_venue_table_sets_a_runs_costs_and_options_override_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text('[venue.sim]\ncommission = "0"\nvolume_cap = "0.5"\n')
    monkeypatch.setenv("LH_CONFIG", str(config))
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(200))
    bars, _ = read_bars(data)
    args = ["backtest", "--data", str(data), "--strategy", "sma_cross", "--json"]
    args += ["--param", "fast=5", "--param", "slow=15"]
    cases = [
        ([], SimulatedVenueConfig(commission=Decimal(0), volume_cap=Decimal("0.5"))),
        (
            ["--commission", "0.002", "--volume-cap", "none"],
            SimulatedVenueConfig(commission=Decimal("0.002")),
        ),
    ]
    for options, venue in cases:
        result = runner.invoke(cli, [*args, *options])
        assert result.exit_code == 0, result.output
        run_id = json.loads(result.stdout)["run_id"]
        expected = prepare_run(sma_config(bars=bars, venue=venue), RunMode.BACKTEST)
        assert run_id == expected.spec.run_id  # the run's identity digests its venue config
        fees = [e.data["fee"] for e in _events(run_id) if e.event_type == "FillRecorded"]
        assert fees and all((Decimal(fee) > 0) == (venue.commission > 0) for fee in fees)


def _events(run_id: str) -> list[RecordedEvent]:
    store = open_event_store(load_settings().event_store)
    try:
        return [e for e in store.read_all() if run_id in e.stream_id]
    finally:
        store.close()


def test_only_infra_settings_reads_the_config_file() -> None:
    """One reader of lianghua.toml: no other module parses TOML or names the file."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for package in ("domain", "adapters", "infra", "projections", "api")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"\btomllib\b|\btoml\b|lianghua\.toml|read_config_file\(", path.read_text())
    )
    assert readers == ["infra/settings.py"]


def test_the_cli_builds_one_app_per_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command's stores come from the composition root: count the apps one command
    builds (``lh audit verify`` opens the log, the archive and the read models)."""
    import api.application.bootstrap as composition_root  # imported by each command, on use

    built: list[App] = []

    def counting(settings: object = None, **overrides: object) -> App:
        app = bootstrap(load_settings())
        built.append(app)
        return app

    monkeypatch.setattr(composition_root, "bootstrap", counting)
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert len(built) == 1
