"""Who a request acts for: API keys with roles (viewer < trader < admin).

``authenticate`` is the one check every entry point of the API uses (the REST routes through
``api.http.auth``, the WebSocket routes directly): a key is valid if its hash is in the key
store (``api.application.api_keys``) and it is not revoked."""

from __future__ import annotations

from api.application.api_keys import ApiKeyStore, Principal, Role

__all__ = ["Principal", "Role", "authenticate"]


def authenticate(key: str, keys: ApiKeyStore | None = None) -> Principal | None:
    """The principal ``key`` belongs to, or None (unknown, revoked or malformed)."""
    return (keys or ApiKeyStore()).authenticate(key)
