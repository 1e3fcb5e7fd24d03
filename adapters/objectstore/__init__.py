"""Open the object store named by ``LH_OBJECT_STORE``: ``file:///path`` or ``s3://…/bucket``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from adapters.objectstore.base import (
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectRetainedError,
    ObjectStore,
)
from adapters.objectstore.local import LocalObjectStore

__all__ = [
    "LocalObjectStore",
    "ObjectExistsError",
    "ObjectNotFoundError",
    "ObjectRetainedError",
    "ObjectStore",
    "open_object_store",
]


def open_object_store(url: str) -> ObjectStore:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalObjectStore(Path(unquote(parts.netloc + parts.path)), url)
    if parts.scheme == "s3":
        from adapters.objectstore.s3 import S3ObjectStore

        return S3ObjectStore.from_url(url)
    raise ValueError(
        f"object store URL {url!r}: expected file:///path or s3://KEY:SECRET@host:port/bucket"
    )
