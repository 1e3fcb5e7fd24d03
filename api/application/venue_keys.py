"""Venue credentials (exchange API key and secret), encrypted at rest with Fernet.

The master key comes from ``LH_MASTER_KEY`` (a Fernet key) or from the file named by
``LH_MASTER_KEY_FILE``, which only its owner may read or write (mode 0600 or stricter);
nothing else is accepted. The encrypted store is ``venue-keys.json`` under ``LH_VAR_DIR``
(mode 0600, replaced atomically). Secrets are never printed, logged, put in the event log or
in an error: errors name the key, never its value. Every use of a key is appended to
``venue-key-usage.log`` (when, which key, for what; no secret).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from adapters.venue.ccxt_config import SUPPORTED_EXCHANGES, CcxtVenueConfig, VenueCredentials
from adapters.venue.registry import VenueConfig, VenueFactory
from domain.engine.ports import Venue
from infra.private_file import replace_private_file
from infra.settings import var_dir

KEY_FILE = "venue-keys.json"
USAGE_FILE = "venue-key-usage.log"
MASTER_ENV = "LH_MASTER_KEY"
MASTER_FILE_ENV = "LH_MASTER_KEY_FILE"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OWNER_ONLY = stat.S_IRWXG | stat.S_IRWXO


class VenueKeyError(ValueError):
    """A bad name, an unknown or duplicate key, or a master key that is missing or unsafe.
    Its message never contains a secret."""


@dataclass(frozen=True)
class VenueKeyRecord:
    """What may be shown of a stored key: never the key or the secret."""

    name: str
    exchange: str
    created_at: str
    rotated_at: str | None
    last_used_at: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def master_key(environ: dict[str, str] | None = None) -> Fernet:
    """The Fernet of the configured master key; refuses a key file others may read."""
    env = os.environ if environ is None else environ
    text = env.get(MASTER_ENV)
    if not text and env.get(MASTER_FILE_ENV):
        path = Path(env[MASTER_FILE_ENV])
        try:
            mode = path.stat().st_mode
        except OSError as error:
            raise VenueKeyError(
                f"{MASTER_FILE_ENV}: cannot read {path}: {error.strerror}"
            ) from None
        if mode & _OWNER_ONLY:
            raise VenueKeyError(
                f"{MASTER_FILE_ENV}: {path} may be read by others (mode {stat.S_IMODE(mode):04o});"
                f" run chmod 600 {path}"
            )
        text = path.read_text().strip()
    if not text:
        raise VenueKeyError(
            f"no master key: set {MASTER_ENV} or {MASTER_FILE_ENV} (a Fernet key, see "
            "docs/live-exchange.md)"
        )
    try:
        return Fernet(text.encode())
    except ValueError:
        raise VenueKeyError(
            "the master key is not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None


class VenueKeyStore:
    """The encrypted venue keys and their usage log."""

    def __init__(self, fernet: Fernet | None = None, *, directory: Path | None = None) -> None:
        self._fernet = fernet
        folder = directory or var_dir()
        self.path = folder / KEY_FILE
        self.usage_path = folder / USAGE_FILE

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            self._fernet = master_key()
        return self._fernet

    def add(self, name: str, exchange: str, api_key: str, secret: str) -> VenueKeyRecord:
        _check_name(name)
        if exchange not in SUPPORTED_EXCHANGES:
            known = ", ".join(SUPPORTED_EXCHANGES)
            raise VenueKeyError(f"exchange {exchange!r} is not supported; use one of {known}")
        keys = self._read()
        if name in keys:
            raise VenueKeyError(f"venue key {name!r} exists; rotate or remove it")
        keys[name] = {
            "exchange": exchange,
            "token": self._seal(api_key, secret),
            "created_at": _now(),
            "rotated_at": None,
        }
        self._write(keys)
        self._record_use(name, exchange, "added")
        return self._record(name, keys[name])

    def rotate(self, name: str, api_key: str, secret: str) -> VenueKeyRecord:
        keys = self._read()
        entry = self._entry(keys, name)
        entry["token"] = self._seal(api_key, secret)
        entry["rotated_at"] = _now()
        self._write(keys)
        self._record_use(name, str(entry["exchange"]), "rotated")
        return self._record(name, entry)

    def remove(self, name: str) -> None:
        keys = self._read()
        entry = self._entry(keys, name)
        del keys[name]
        self._write(keys)
        self._record_use(name, str(entry["exchange"]), "removed")

    def records(self) -> list[VenueKeyRecord]:
        return [self._record(name, entry) for name, entry in sorted(self._read().items())]

    def credentials(self, name: str, purpose: str) -> tuple[str, VenueCredentials]:
        """The exchange and credentials of key ``name``; the use is recorded."""
        entry = self._entry(self._read(), name)
        try:
            plain = json.loads(self.fernet.decrypt(str(entry["token"]).encode()))
        except InvalidToken:
            raise VenueKeyError(
                f"venue key {name!r} cannot be decrypted with this master key"
            ) from None
        exchange = str(entry["exchange"])
        self._record_use(name, exchange, purpose)
        return exchange, VenueCredentials(plain["api_key"], plain["secret"])

    def usage(self) -> list[dict[str, str]]:
        """The usage log, oldest first."""
        if not self.usage_path.exists():
            return []
        return [json.loads(line) for line in self.usage_path.read_text().splitlines() if line]

    def _seal(self, api_key: str, secret: str) -> str:
        if not api_key or not secret:
            raise VenueKeyError("the API key and the secret must not be empty")
        plain = json.dumps({"api_key": api_key, "secret": secret}).encode()
        return self.fernet.encrypt(plain).decode()

    def _entry(self, keys: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
        entry = keys.get(name)
        if entry is None:
            known = ", ".join(sorted(keys)) or "none"
            raise VenueKeyError(f"no venue key {name!r} (stored: {known})")
        return entry

    def _record(self, name: str, entry: dict[str, Any]) -> VenueKeyRecord:
        last = [use["at"] for use in self.usage() if use["key"] == name]
        return VenueKeyRecord(
            name, str(entry["exchange"]), str(entry["created_at"]), entry.get("rotated_at"),
            last[-1] if last else None,
        )  # fmt: skip

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            keys: dict[str, dict[str, Any]] = json.loads(self.path.read_text())["keys"]
        except (ValueError, KeyError, TypeError):
            raise VenueKeyError(
                f"{self.path} is not a venue key store (restore it from a backup)"
            ) from None
        return keys

    def _write(self, keys: dict[str, dict[str, Any]]) -> None:
        replace_private_file(self.path, json.dumps({"keys": keys}, indent=1, sort_keys=True))

    def _record_use(self, name: str, exchange: str, purpose: str) -> None:
        self.usage_path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": _now(), "key": name, "exchange": exchange, "use": purpose})
        descriptor = os.open(self.usage_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a") as file:
            file.write(line + "\n")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise VenueKeyError(f"venue key name {name!r}: use 1-64 letters, digits, '_' or '-'")


def keyed_ccxt_factory(store: VenueKeyStore, name: str, purpose: str) -> VenueFactory:
    """A ``ccxt`` venue factory holding key ``name`` (for ``VenueRegistry.replaced``); the
    key's exchange must be the config's."""

    def factory(config: VenueConfig) -> Venue:
        from adapters.venue.ccxt_venue import CcxtVenue

        if not isinstance(config, CcxtVenueConfig):
            raise TypeError(f"the ccxt venue takes a CcxtVenueConfig, not {config!r}")
        exchange, credentials = store.credentials(name, purpose)
        if exchange != config.exchange:
            raise VenueKeyError(f"venue key {name!r} is for {exchange}, not {config.exchange}")
        return CcxtVenue(config, credentials)

    return factory
