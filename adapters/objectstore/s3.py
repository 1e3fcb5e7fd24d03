"""An S3-compatible bucket (MinIO, AWS, moto) as the object store, through the ``minio`` SDK.

URL: ``s3://ACCESS:SECRET@host:port/bucket[/prefix][?secure=true|false&region=NAME&object_lock=true]``.
``secure`` (HTTPS) defaults to false for ``localhost``/``127.0.0.1``/``::1`` and true for any
other host. The bucket is created when missing, with S3 Object Lock when ``object_lock=true``
(S3 can only enable it at creation). The secret never appears in errors or logs: messages
name the URL with the secret replaced by ``***``.

Write-once (``put_once``) is a conditional PUT (``If-None-Match: *``: the server refuses it
if the key exists, so two writers cannot both create it) and, where the bucket has Object
Lock, carries a COMPLIANCE-mode retention date: until then nobody, root account included,
can delete that object version or shorten its retention. One ambiguity remains: a PUT whose
response is lost is retried by the HTTP client and then meets its own object (412); callers
treat ``ObjectExistsError`` as "compare, then adopt or refuse" (anchors compare the hash, a
seal refuses and the next seal adopts the segment as an orphan).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import MinioException, S3Error
from minio.helpers import genheaders, md5sum_hash
from minio.retention import Retention
from minio.versioningconfig import OFF

from adapters.objectstore.base import (
    Histories,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectRetainedError,
    ObjectStoreError,
    ObjectVersion,
)

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_MISSING_CODES = ("NoSuchKey", "NoSuchObject")
_ACCESS_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")
_TAKEN_CODES = ("PreconditionFailed", "ConditionalRequestConflict")
_NO_LOCK_CODE = "ObjectLockConfigurationNotFoundError"


class ObjectStoreUnavailableError(ObjectStoreError):
    """The endpoint cannot be reached."""


class ObjectStoreAccessError(ObjectStoreError):
    """The endpoint rejected our credentials."""


def redact(url: str) -> str:
    """``url`` with the secret key replaced by ``***`` (safe to print or log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.netloc.rsplit('@', 1)[1]}"
    return parts._replace(netloc=netloc).geturl()


def _flag(value: str, url: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"object store URL {redact(url)!r}: secure must be true or false")


@dataclass(frozen=True)
class S3Location:
    """What an ``s3://`` URL says: endpoint, credentials, bucket, key prefix, HTTPS or not."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str
    prefix: str
    secure: bool
    region: str | None
    object_lock: bool = False

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        shown = redact(url)
        if parts.scheme != "s3" or not parts.hostname:
            raise ValueError(
                f"object store URL {shown!r}: expected s3://ACCESS:SECRET@host:port/bucket"
            )
        bucket, _, prefix = parts.path.lstrip("/").partition("/")
        if not bucket:
            raise ValueError(f"object store URL {shown!r}: no bucket given")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        secure = (
            _flag(query["secure"], url) if "secure" in query else parts.hostname not in LOCAL_HOSTS
        )
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(
            endpoint=f"{host}:{parts.port}" if parts.port else host,
            access_key=unquote(parts.username or ""),
            secret_key=unquote(parts.password or ""),
            bucket=bucket,
            prefix=prefix.strip("/"),
            secure=secure,
            region=query.get("region"),
            object_lock=_flag(query["object_lock"], url) if "object_lock" in query else False,
        )


class S3ObjectStore:
    """Keys map to ``<prefix>/<key>`` objects in one bucket; a put becomes visible atomically."""

    def __init__(
        self,
        client: Minio,
        bucket: str,
        prefix: str = "",
        url: str = "",
        *,
        object_lock: bool = False,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = redact(url) if url else f"s3://{bucket}/{self.prefix}"
        self._lock: bool | None = None
        self._versioned: bool | None = None
        self._ensure_bucket(object_lock)

    @classmethod
    def from_url(cls, url: str) -> S3ObjectStore:
        """Connect and create the bucket if missing (errors name the redacted URL)."""
        location = S3Location.parse(url)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=60.0),
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        client = Minio(
            location.endpoint,
            access_key=location.access_key,
            secret_key=location.secret_key,
            secure=location.secure,
            region=location.region,
            http_client=http,
        )
        return cls(client, location.bucket, location.prefix, url, object_lock=location.object_lock)

    def object_name(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid object key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, action: str, key: str = "") -> Iterator[None]:
        """Turn SDK and transport errors into ours, naming the redacted URL."""
        try:
            yield
        except S3Error as error:
            if error.code in _MISSING_CODES:
                raise ObjectNotFoundError(f"{self.url}: no object {key!r}") from None
            if error.code in _ACCESS_CODES:
                raise ObjectStoreAccessError(
                    f"{self.url}: {action} refused ({error.code}): check the access key and secret"
                ) from None
            raise ObjectStoreError(
                f"{self.url}: {action} failed ({error.code}: {error.message})"
            ) from None
        except MinioException as error:
            raise ObjectStoreError(
                f"{self.url}: {action} failed ({type(error).__name__})"
            ) from None
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise ObjectStoreUnavailableError(
                f"{self.url}: cannot reach the S3 endpoint to {action}: {type(reason).__name__}"
            ) from None

    def _ensure_bucket(self, object_lock: bool) -> None:
        with self._errors(f"create bucket {self.bucket!r}"):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=object_lock)

    def retention_enforced(self) -> bool:
        """Whether the bucket has Object Lock (read once from its configuration)."""
        if self._lock is None:
            with self._errors(f"read the object lock configuration of {self.bucket!r}"):
                try:
                    self.client.get_object_lock_config(self.bucket)
                    self._lock = True
                except S3Error as error:
                    if error.code != _NO_LOCK_CODE:
                        raise
                    self._lock = False
        return self._lock

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        name = self.object_name(key)
        with self._errors(f"put {key!r}", key):
            self.client.put_object(self.bucket, name, io.BytesIO(data), len(data), content_type)

    def put_once(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> None:
        """One conditional PUT. The SDK's ``put_object`` takes no request headers, so the
        request is built here with the SDK's own header helper and sent as it sends one."""
        name = self.object_name(key)
        retention = (
            Retention(COMPLIANCE, retain_until)
            if retain_until is not None and self.retention_enforced()
            else None
        )
        headers = genheaders(None, None, None, retention, False)
        headers |= {
            "Content-Type": content_type,
            "Content-MD5": md5sum_hash(data) or "",  # S3 requires it with a retention date
            "If-None-Match": "*",
        }
        with self._errors(f"put {key!r}", key):
            try:
                self.client._put_object(self.bucket, name, data, headers)
            except S3Error as error:
                if error.code in _TAKEN_CODES:
                    raise ObjectExistsError(f"{self.url}: object {key!r} already exists") from None
                raise

    def get(self, key: str) -> bytes:
        name = self.object_name(key)
        with self._errors(f"get {key!r}", key):
            response = self.client.get_object(self.bucket, name)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        name = self.object_name(key)
        try:
            with self._errors(f"stat {key!r}", key):
                self.client.stat_object(self.bucket, name)
        except ObjectNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        with self._errors(f"list {prefix!r}"):
            names = [
                str(item.object_name)
                for item in self.client.list_objects(
                    self.bucket, prefix=base + prefix, recursive=True
                )
            ]
        yield from sorted(name[len(base) :] for name in names)

    def originals(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        if not self.retention_enforced():
            for key in self.list(prefix):
                yield key, self.get(key)
            return
        base = f"{self.prefix}/" if self.prefix else ""
        first: dict[str, str] = {}
        with self._errors(f"list versions of {prefix!r}"):
            for item in self.client.list_objects(
                self.bucket, prefix=base + prefix, recursive=True, include_version=True
            ):
                if not item.is_delete_marker:  # S3 lists a key's versions newest first
                    first[str(item.object_name)] = str(item.version_id)
        for name in sorted(first):
            key = name[len(base) :]
            with self._errors(f"get {key!r}", key):
                response = self.client.get_object(self.bucket, name, version_id=first[name])
                try:
                    data = response.read()
                finally:
                    response.close()
                    response.release_conn()
            yield key, data

    def keeps_versions(self) -> bool:
        """Whether the bucket keeps a version history: versioning enabled (Object Lock
        implies it) or suspended (the versions written while it was on are still kept)."""
        if self._versioned is None:
            with self._errors(f"read the versioning configuration of {self.bucket!r}"):
                status = self.client.get_bucket_versioning(self.bucket).status_string
            self._versioned = status != OFF
        return self._versioned

    def histories(self, prefix: str) -> Histories | None:
        if not self.keeps_versions():
            return None
        base = f"{self.prefix}/" if self.prefix else ""
        found: dict[str, list[tuple[tuple[bool, datetime, int], ObjectVersion]]] = {}
        with self._errors(f"list versions of {prefix!r}"):
            items = self.client.list_objects(
                self.bucket, prefix=base + prefix, recursive=True, include_version=True
            )
            for index, item in enumerate(items):
                # The listing gives a key's versions newest first, but its delete markers
                # apart from them: order by (current last, time, listing order reversed).
                order = (
                    str(item.is_latest).lower() == "true",
                    item.last_modified or datetime.min.replace(tzinfo=UTC),
                    -index,
                )
                version = ObjectVersion(str(item.version_id), bool(item.is_delete_marker))
                found.setdefault(str(item.object_name)[len(base) :], []).append((order, version))
        return {
            key: [version for _, version in sorted(versions, key=lambda pair: pair[0])]
            for key, versions in sorted(found.items())
        }

    def get_version(self, key: str, version_id: str) -> bytes:
        name = self.object_name(key)
        with self._errors(f"get {key!r} version {version_id}", key):
            response = self.client.get_object(self.bucket, name, version_id=version_id)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def delete(self, key: str) -> None:
        """Remove the object; in an Object Lock bucket (always versioned) remove every version
        by id, since a plain delete there only hides the object behind a delete marker."""
        name = self.object_name(key)
        with self._errors(f"delete {key!r}", key):
            if not self.retention_enforced():
                self.client.remove_object(self.bucket, name)
                return
            versions = [
                item.version_id
                for item in self.client.list_objects(self.bucket, prefix=name, include_version=True)
                if item.object_name == name
            ]
            for version in versions:
                try:
                    self.client.remove_object(self.bucket, name, version_id=version)
                except S3Error as error:
                    if error.code == "AccessDenied":
                        raise ObjectRetainedError(
                            f"{self.url}: object {key!r} is under retention (Object Lock, "
                            "compliance mode): it cannot be deleted before its retention ends"
                        ) from None
                    raise
