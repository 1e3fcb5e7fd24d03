"""Refuse anything but one read-only statement before ad-hoc SQL reaches ClickHouse.

This is the first of two guards: the statement is also run with ``readonly=1``, which a
ClickHouse server and chDB both enforce. The inspection exists because ``readonly`` does not
stop ``SELECT ... INTO OUTFILE`` in the embedded engine (it writes a local file) and because
a clear message beats a server error code.
"""

from __future__ import annotations

import re

READ_KEYWORDS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS")
_FORBIDDEN = (
    (re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE), "INTO OUTFILE writes a file"),
    (re.compile(r"\bFROM\s+INFILE\b", re.IGNORECASE), "FROM INFILE reads into a table"),
)
# String literals, quoted identifiers and comments, in the order ClickHouse lexes them.
_LEXEMES = re.compile(
    r"'(?:[^'\\]|\\.|'')*'"
    r'|"(?:[^"\\]|\\.)*"'
    r"|`(?:[^`\\]|\\.)*`"
    r"|--[^\n]*|#[^\n]*"
    r"|/\*.*?\*/",
    re.DOTALL,
)


class ReadOnlyViolationError(ValueError):
    """The SQL is not a single read-only statement."""


def ensure_read_only(sql: str) -> str:
    """Return ``sql`` without a trailing ``;`` if it is one read; raise otherwise."""
    skeleton = _LEXEMES.sub(_blank, sql)
    if "'" in skeleton or '"' in skeleton or "`" in skeleton or "/*" in skeleton:
        raise ReadOnlyViolationError("unterminated string, identifier or comment in the SQL")
    body = skeleton.strip().rstrip(";").strip()
    if not body:
        raise ReadOnlyViolationError("no SQL statement given")
    if ";" in body:
        raise ReadOnlyViolationError("only one statement is allowed (found ';' inside the SQL)")
    first = body.split(None, 1)[0].upper().lstrip("(")
    if first not in READ_KEYWORDS:
        raise ReadOnlyViolationError(
            f"only read-only statements are allowed ({', '.join(READ_KEYWORDS)}); got {first}"
        )
    for pattern, why in _FORBIDDEN:
        if pattern.search(body):
            raise ReadOnlyViolationError(f"refused: {why}")
    # The skeleton has the same length as ``sql``, so its end marks where the statement ends.
    return sql[: len(skeleton.rstrip().rstrip(";").rstrip())]


def _blank(match: re.Match[str]) -> str:
    """Same length, no content: comments become spaces, literals and quoted names ``_``."""
    text = match.group(0)
    return (" " if text.startswith(("--", "#", "/*")) else "_") * len(text)
