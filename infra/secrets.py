"""Mask secrets before anything is printed or logged: the one place that knows how.

A store URL may carry a password (``redis://:PW@host``, ``mysql+pymysql://user:PW@host``) or
an S3 secret key (``s3://ACCESS:SECRET@host/bucket``); drivers repeat URLs in their errors.
Every URL shown to a user goes through ``redact_url``; every message from outside our code
(driver exceptions, log records) goes through ``redact_text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode

MASK = "***"
_SECRET_QUERY_KEYS = ("password", "passwd", "secret", "token", "secret_key", "access_token")
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*):[^@\s'\"]*@")
_MIN_LITERAL = 4
"""Shorter secrets are masked only where they sit in a URL: replacing every ``ab`` in a
message would garble it without protecting anything."""


def _split(url: str) -> tuple[str, str, str | None, str]:
    """``scheme``, ``user``, ``password`` (``None`` if absent) and the rest after ``@``.

    The user part ends at the last ``@`` before the query: an unencoded ``/`` in a secret
    (common in S3 keys) must not let the rest of it pass for the path.
    """
    scheme, _, rest = url.partition("://")
    at = rest.split("?", 1)[0].rfind("@")
    if at < 0:
        return scheme, "", None, rest
    user, colon, password = rest[:at].partition(":")
    return scheme, user, password if colon else None, rest[at:]


def redact_url(url: str) -> str:
    """``url`` with its password (or S3 secret key) and secret query values as ``***``."""
    if "://" not in url:
        return redact_text(url)
    scheme, user, password, rest = _split(url)
    if password is not None:
        rest = f"{user}:{MASK}{rest}"
    elif user:
        rest = f"{user}{rest}"
    location, question, query = rest.partition("?")
    if question:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_QUERY_KEYS for key, _ in pairs):
            query = urlencode(
                [(k, MASK if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs],
                safe="*",
            )
    return f"{scheme}://{location}{question}{query}"


def secrets_of(urls: Iterable[str]) -> set[str]:
    """The passwords and secret keys inside ``urls`` (raw and percent-decoded)."""
    found: set[str] = set()
    for url in urls:
        _, _, password, rest = _split(url)
        query = parse_qsl(rest.partition("?")[2], keep_blank_values=True)
        values = [password] if password else []
        values += [v for k, v in query if k.lower() in _SECRET_QUERY_KEYS and v]
        for value in values:
            found.update({value, unquote(value)})
    return {secret for secret in found if secret}


def redact_text(text: str, urls: Iterable[str] = ()) -> str:
    """``text`` with every ``scheme://user:PW@`` masked, and every secret of ``urls`` too."""
    masked = _USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    for secret in sorted(secrets_of(urls), key=len, reverse=True):
        if len(secret) >= _MIN_LITERAL:
            masked = masked.replace(secret, MASK)
    return masked
