"""The software a report names (filing pack, manifest, footer): this package and its version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

SOFTWARE = "lianghua"


def software_version() -> str:
    try:
        return version(SOFTWARE)
    except PackageNotFoundError:
        return "unknown"


def software_line() -> str:
    return f"LiangHua {software_version()}"
