"""`lh keys api create|list|revoke`: the key printed once, only its hash stored."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.application.api_keys import ApiKeyStore
from api.cli import app


def test_create_list_revoke() -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "api", "create", "--owner", "ops", "--role", "trader",
                                  "--json"])  # fmt: skip
    assert created.exit_code == 0, created.output
    shown = json.loads(created.stdout)
    key = shown["key"]
    assert ApiKeyStore().authenticate(key) is not None
    assert key not in ApiKeyStore().path.read_text()
    assert ApiKeyStore().path.stat().st_mode & 0o077 == 0
    listed = runner.invoke(app, ["keys", "api", "list", "--json"])
    assert key not in listed.stdout and "sha256" not in listed.stdout
    assert [k["owner"] for k in json.loads(listed.stdout)["keys"]] == ["ops"]
    revoked = runner.invoke(app, ["keys", "api", "revoke", shown["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert ApiKeyStore().authenticate(key) is None


def test_bad_input_is_one_line_and_exit_2() -> None:
    runner = CliRunner()
    for args, words in (
        (["create", "--owner", "ops", "--role", "root"], "unknown role"),
        (["create", "--owner", " ", "--role", "viewer"], "--owner"),
        (["revoke", "nope"], "no API key"),
    ):
        done = runner.invoke(app, ["keys", "api", *args])
        assert done.exit_code == 2, done.output
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
