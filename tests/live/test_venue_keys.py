"""Venue keys: encrypted at rest under the master key (env or an owner-only file), never
shown by any command or error, every use recorded by name; a stored key trades on the
local exchange."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from adapters.exchange_local.server import DEFAULT_API_KEY, DEFAULT_SECRET
from adapters.venue.registry import VENUES
from api.application.venue_keys import (
    MASTER_ENV,
    MASTER_FILE_ENV,
    VenueKeyError,
    VenueKeyStore,
    keyed_ccxt_factory,
    master_key,
)
from api.cli.keys_venue import app
from domain.engine.ports import Accepted, VenueOrder
from domain.events.types import OrderType, Side
from tests.live.exchange_support import config, local_exchange

API_KEY, SECRET = "AKIAsecretApiKey123", "S3CRETvenueSecret456"


@pytest.fixture
def master(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(MASTER_ENV, key)
    monkeypatch.setenv("TEST_API_KEY", API_KEY)
    monkeypatch.setenv("TEST_SECRET", SECRET)
    return key


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _stored_bytes(tmp_path: Path) -> str:
    folder = tmp_path / "var"
    return "".join(path.read_text() for path in folder.iterdir() if path.is_file())


def test_add_list_rotate_remove_never_show_or_store_the_secret(
    master: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = ("--api-key-env", "TEST_API_KEY", "--secret-env", "TEST_SECRET")
    outputs = [_run("add", "main", "--exchange", "binance", *env)]
    assert outputs[0][0] == 0
    outputs.append(_run("add", "main", *env))
    assert outputs[-1][0] == 2
    assert "exists" in outputs[-1][1]
    outputs.append(_run("list", "--json"))
    (record,) = json.loads(outputs[-1][1])["keys"]
    assert (record["name"], record["exchange"], record["rotated_at"]) == ("main", "binance", None)
    monkeypatch.setenv("TEST_SECRET", SECRET + "-rotated")
    outputs.append(_run("rotate", "main", *env))
    assert outputs[-1][0] == 0
    outputs.append(_run("list"))
    exchange, credentials = VenueKeyStore().credentials("main", "test")
    assert (exchange, credentials.api_key, credentials.secret) == (
        "binance",
        API_KEY,
        SECRET + "-rotated",
    )
    assert SECRET not in repr(credentials)
    outputs.append(_run("remove", "main"))
    outputs.append(_run("remove", "main"))
    assert outputs[-1][0] == 2
    assert "no venue key 'main'" in outputs[-1][1]
    shown = "".join(text for _, text in outputs)
    stored = _stored_bytes(tmp_path)
    for secret in (API_KEY, SECRET, master):
        assert secret not in shown
        assert secret not in stored
    uses = [(use["key"], use["use"]) for use in VenueKeyStore().usage()]
    assert uses == [("main", "added"), ("main", "rotated"), ("main", "test"), ("main", "removed")]
    mode = (tmp_path / "var" / "venue-keys.json").stat().st_mode & 0o777
    assert mode == 0o600


def test_missing_environment_and_bad_names_fail_in_one_line(master: str) -> None:
    code, output = _run("add", "k", "--api-key-env", "NOT_SET_ANYWHERE", "--secret-env", "X")
    assert (code, output.strip()) == (
        2,
        "environment variable NOT_SET_ANYWHERE is not set or empty",
    )
    code, output = _run(
        "add", "bad name", "--api-key-env", "TEST_API_KEY", "--secret-env", "TEST_SECRET"
    )
    assert code == 2
    assert len(output.strip().splitlines()) == 1


def test_master_key_from_env_or_an_owner_only_file(tmp_path: Path) -> None:
    with pytest.raises(VenueKeyError, match="no master key"):
        master_key({})
    with pytest.raises(VenueKeyError, match="not a Fernet key"):
        master_key({MASTER_ENV: "short"})
    key_file = tmp_path / "master.key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    os.chmod(key_file, 0o644)
    with pytest.raises(VenueKeyError, match="chmod 600"):
        master_key({MASTER_FILE_ENV: str(key_file)})
    os.chmod(key_file, 0o600)
    token = master_key({MASTER_FILE_ENV: str(key_file)}).encrypt(b"x")
    assert Fernet(key_file.read_text().strip().encode()).decrypt(token) == b"x"


def test_another_master_key_cannot_decrypt(master: str, monkeypatch: pytest.MonkeyPatch) -> None:
    VenueKeyStore().add("main", "binance", API_KEY, SECRET)
    monkeypatch.setenv(MASTER_ENV, Fernet.generate_key().decode())
    with pytest.raises(VenueKeyError) as caught:
        VenueKeyStore().credentials("main", "test")
    assert "cannot be decrypted" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_stored_key_trades_on_the_local_exchange(master: str) -> None:
    store = VenueKeyStore()
    store.add("local", "binance", DEFAULT_API_KEY, DEFAULT_SECRET)
    with local_exchange() as running:
        registry = VENUES.replaced({"ccxt": keyed_ccxt_factory(store, "local", "live test")})
        venue = registry.create(config(running))
        sent = VenueOrder("live-k-o1", "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01"))
        assert venue.submit(sent) == [Accepted("live-k-o1", "1")]
    assert [use["use"] for use in store.usage()] == ["added", "live test"]
    with pytest.raises(VenueKeyError, match="is for binance, not okx"):
        keyed_ccxt_factory(store, "local", "x")(config(running, exchange="okx"))
