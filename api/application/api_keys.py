"""API keys with roles, stored only as hashes in one small file under ``LH_VAR_DIR``.

The keys are not a fact of the trading log and must survive a rebuild of the read models, so
they live neither in the log nor in the SQL read model: ``api-keys.json`` (mode 0600), written
atomically (a temporary file renamed over it). A key is ``lh_<id>_<secret>``: the id finds
the record, the SHA-256 of the whole key is compared in constant time; the secret (256 random
bits) is shown once, when created, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path

from infra.private_file import replace_private_file
from infra.settings import var_dir

KEY_FILE = "api-keys.json"
PREFIX = "lh_"
OWNER_MAX = 64


class Role(IntEnum):
    """What a key may do; each role may do everything the roles below it may."""

    VIEWER = 1  # reads only
    TRADER = 2  # operator commands, sessions, backtests
    ADMIN = 3  # risk limits, keys, system start/stop

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            known = ", ".join(role.name.lower() for role in cls)
            raise ApiKeyError(f"unknown role {text!r} (known: {known})") from None


class ApiKeyError(ValueError):
    """A bad owner or role, or an unknown key id."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the key's owner (recorded as the operator) and role."""

    owner: str
    role: Role
    key_id: str = ""  # which key (its rate limit); "" for a principal made by hand


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    owner: str
    role: str
    sha256: str
    created_at: str
    revoked_at: str | None = None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ApiKeyStore:
    """The key file; re-read when it changes on disk, so a revoke reaches a running server."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or var_dir() / KEY_FILE
        self._records: dict[str, ApiKeyRecord] = {}
        self._stamp: tuple[int, int] | None = None

    def records(self) -> list[ApiKeyRecord]:
        self._reload()
        return sorted(self._records.values(), key=lambda record: record.created_at)

    def create(self, owner: str, role: Role) -> tuple[ApiKeyRecord, str]:
        """A new key for ``owner``: its record and the key itself (shown once)."""
        owner = owner.strip()
        if not owner or len(owner) > OWNER_MAX or not owner.isprintable():
            raise ApiKeyError(f"--owner must be 1 to {OWNER_MAX} printable characters")
        self._reload()
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKeyRecord(key_id, owner, role.name.lower(), _hash(key), _now())
        self._records[key_id] = record
        self._save()
        return record, key

    def revoke(self, key_id: str) -> ApiKeyRecord:
        self._reload()
        record = self._records.get(key_id.strip())
        if record is None:
            raise ApiKeyError(f"no API key {key_id!r} (see `lh keys api list`)")
        if record.revoked_at is None:
            record = ApiKeyRecord(**(asdict(record) | {"revoked_at": _now()}))
            self._records[record.key_id] = record
            self._save()
        return record

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else."""
        if not key.startswith(PREFIX):
            return None
        key_id = key[len(PREFIX) :].partition("_")[0]
        self._reload()
        record = self._records.get(key_id)
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.sha256, _hash(key)):
            return None
        return Principal(record.owner, Role.parse(record.role), record.key_id)

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._records, self._stamp = {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        self._records = {item["key_id"]: ApiKeyRecord(**item) for item in raw["keys"]}
        self._stamp = stamp

    def _save(self) -> None:
        body = {"keys": [asdict(record) for record in self._records.values()]}
        replace_private_file(self.path, json.dumps(body, indent=1))
        self._stamp = None
