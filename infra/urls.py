"""The store URLs ``lh`` accepts, checked without importing the settings (pydantic, numpy): a
writer process opens its store by URL and starts faster for it."""

from __future__ import annotations

from urllib.parse import urlsplit

from infra.secrets import redact_url

SCHEMES = {
    "event_store": ("sqlite", "redis"),
    "sql_url": ("sqlite", "mysql+pymysql"),
    "clickhouse_url": ("chdb", "http", "https"),
    "object_store": ("file", "s3"),
}

EXAMPLE_URLS = {
    "event_store": "sqlite:///var/events.sqlite or redis://127.0.0.1:6379/0",
    "sql_url": "sqlite:///var/readmodel.sqlite or mysql+pymysql://root:@127.0.0.1:3306/lianghua",
    "clickhouse_url": "chdb:///abs/path/var/analytics or http://default:@127.0.0.1:8123/lianghua",
    "object_store": "file:///abs/path/var/objects or s3://ACCESS:SECRET@127.0.0.1:9000/lianghua",
}


def check_url(name: str, url: str) -> None:
    """Raise ``ValueError`` unless ``url`` has a scheme we support and a usable location."""
    shown = f"LH_{name.upper()}={redact_url(url)!r}"
    example = f"for example {EXAMPLE_URLS[name]}"
    parts = urlsplit(url)
    schemes = SCHEMES[name]
    if parts.scheme not in schemes:
        raise ValueError(f"{shown}: scheme must be one of {', '.join(schemes)}; {example}")
    is_path_scheme = parts.scheme in ("sqlite", "file", "chdb")
    location = (parts.netloc + parts.path).rstrip("/")
    if is_path_scheme and (not url.startswith(f"{parts.scheme}://") or not location):
        raise ValueError(f"{shown}: no path given; {example}")
    if parts.scheme == "sqlite" and parts.netloc:
        raise ValueError(
            f"{shown}: {parts.netloc!r} would be read as a host name, not a file: write "
            f"sqlite:///{parts.netloc}{parts.path} (relative path, three slashes) or "
            "sqlite:////abs/path/events.sqlite (absolute path, four slashes)"
        )
    if not is_path_scheme:
        try:
            _ = parts.port
        except ValueError as error:
            raise ValueError(f"{shown}: {error}; {example}") from None
        if not parts.hostname:
            raise ValueError(f"{shown}: no host given; {example}")
    if parts.scheme == "s3" and not parts.path.strip("/"):
        raise ValueError(f"{shown}: no bucket given; {example}")
