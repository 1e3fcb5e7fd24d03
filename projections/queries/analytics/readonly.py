"""Let ad-hoc SQL through only as one SELECT over the analytics tables, judged by ClickHouse.

A hand-written lexer cannot know every way ClickHouse reads text (heredocs, nested comments,
escapes), and every difference is a way around it. So ClickHouse parses the text itself, on
the same client (chDB or a server) that will run it:

1. ``formatQuerySingleLine`` receives the text as a bound string parameter and returns the
   statement re-printed by the parser: one statement, no comments, literals in one canonical
   form. Anything that does not parse, or holds several statements, stops here.
2. ``EXPLAIN AST`` of that canonical text gives the tree, which must be a SELECT (CTEs,
   unions and subqueries included) reading only tables of the current database, calling no
   table function and no function that reaches files, URLs, other servers, processes,
   dictionaries or server settings, with no ``SETTINGS``, ``FORMAT`` or ``INTO OUTFILE`` of its
   own.
3. Only the canonical text runs, with ``readonly=1`` and bounds on time, rows and memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Functions that reach outside the analytics tables. Table functions (``file``, ``url``,
# ``s3``, ``remote``, ``mysql``, ``executable``, ``input`` ...) are refused wherever they
# stand in a FROM or JOIN, so this list names the scalar ones (and table function names,
# in case a future parser accepts one as a scalar).
DENIED_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        # files, URLs, other servers, processes
        "file", "url", "urlCluster", "s3", "s3Cluster", "gcs", "azureBlobStorage", "hdfs",
        "remote", "remoteSecure", "cluster", "clusterAllReplicas", "mysql", "postgresql",
        "sqlite", "mongodb", "redis", "jdbc", "odbc", "executable", "executablePool", "input",
        "iceberg", "deltaLake", "hudi", "merge", "mergeTreeIndex", "catboostEvaluate",
        "joinGet", "joinGetOrNull", "hasColumnInTable", "generateSerialID",
        # server settings, identity and host introspection
        "getSetting", "getSettingOrDefault", "getServerSetting", "getMergeTreeSetting",
        "getMacro", "getClientHTTPHeader", "getOSKernelVersion", "hostName", "fqdn",
        "serverUUID", "tcpPort", "filesystemAvailable", "filesystemCapacity",
        "filesystemUnreserved", "currentUser", "user", "currentProfiles", "enabledProfiles",
        "defaultProfiles", "currentRoles", "enabledRoles", "defaultRoles", "uptime",
        "zookeeperSessionUptime", "addressToLine", "addressToLineWithInlines",
        "addressToSymbol", "demangle",
        # stalls (the execution time bound also applies)
        "sleep", "sleepEachRow",
    )
)  # fmt: skip
DENIED_PREFIXES = ("dict",)  # dictGet*, dictHas ...: dictionaries load from external sources
_IN_FUNCTIONS = frozenset(
    ("in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin")
)

MAX_RESULT_ROWS = 1_000_000
# Bounds on one ad-hoc statement; readonly last, after the settings it must not block. Rows
# are capped with ``limit`` (one past the bound, so the caller can tell) rather than by an
# overflow error: an error in the middle of a result leaves an embedded client unusable.
AD_HOC_SETTINGS: dict[str, Any] = {
    "max_execution_time": 60,
    "max_memory_usage": 2 * 1024**3,
    "limit": MAX_RESULT_ROWS + 1,
    "readonly": 1,
}

_NODE = re.compile(r"^(?P<indent> *)(?P<kind>\w+)(?: (?P<rest>.*))?$")
_NAME = re.compile(r"^(?P<name>.*?)(?: \(alias .*?\))?(?: +\(children \d+\))?$")


class ReadOnlyViolationError(ValueError):
    """The SQL is not one SELECT over the analytics tables."""


@dataclass(frozen=True, slots=True)
class AstNode:
    """One line of ``EXPLAIN AST``: its depth, kind (``Function``...) and name (``file``...)."""

    depth: int
    kind: str
    name: str


def ensure_read_only(client: Any, sql: str, parameters: dict[str, Any] | None = None) -> str:
    """The canonical text of ``sql`` if it is one allowed SELECT; raise otherwise.

    ``parameters`` are the values of the statement's ``{name:Type}`` placeholders, which the
    parse needs and which stay placeholders in the canonical text."""
    if not sql.strip():
        raise ReadOnlyViolationError("no SQL statement given")
    canonical = _canonical(client, sql)
    database = str(client.query("SELECT currentDatabase()").result_rows[0][0])
    check_tree(explain(client, canonical, parameters), explain(client, "SELECT 1"), database)
    return canonical


# ``EXPLAIN AST`` answers in the session's default format: the ``FORMAT Native`` that
# clickhouse-connect appends lands in the explained statement's tree (which ``check_tree``
# allows through the baseline), not on the EXPLAIN. chDB's client passes that trailing format
# to the engine as the default; over HTTP a server would answer TabSeparated, which the client
# cannot decode as Native, and every statement would be refused. So ask for it as the default.
_EXPLAIN_SETTINGS = {"default_format": "Native"}


def explain(client: Any, statement: str, parameters: dict[str, Any] | None = None) -> list[AstNode]:
    """The parse tree of ``statement`` as ClickHouse prints it."""
    try:
        rows = client.query(
            f"EXPLAIN AST {statement}", parameters=parameters, settings=_EXPLAIN_SETTINGS
        ).result_rows
    except Exception as error:
        raise ReadOnlyViolationError(f"not one valid statement: {_reason(error)}") from None
    return [_node(str(row[0])) for row in rows]


def check_tree(tree: Sequence[AstNode], baseline: Sequence[AstNode], database: str) -> None:
    """Raise unless ``tree`` is a SELECT that reads only ``database`` and calls nothing denied.

    ``baseline`` is the tree of ``SELECT 1`` through the same client: what the client adds
    around every statement (its own ``FORMAT``, settings) is allowed, nothing more.
    """
    if not tree or tree[0].kind != "SelectWithUnionQuery":
        kind = tree[0].kind if tree else "nothing"
        raise ReadOnlyViolationError(f"only one SELECT is allowed; got {kind}")
    if _root_extras(tree) != _root_extras(baseline):
        raise ReadOnlyViolationError(
            "FORMAT, SETTINGS and INTO OUTFILE are not allowed in ad-hoc SQL"
        )
    if _count(tree, "Set") != _count(baseline, "Set"):
        raise ReadOnlyViolationError("SETTINGS cannot be changed by ad-hoc SQL")
    parents = _parents(tree)
    for index, node in enumerate(tree):
        parent = tree[parents[index]] if parents[index] >= 0 else None
        if node.kind not in _SELECT_NODES:
            raise ReadOnlyViolationError(f"{node.kind} is not part of a SELECT")
        if node.kind == "Function":
            _check_function(node, parent)
        elif node.kind == "TableIdentifier" or (
            node.kind == "Identifier" and _is_in_set_operand(tree, parents, index)
        ):
            _check_table(node.name, database)


# Every node kind a SELECT's tree is made of; anything else (a DDL or DML node) is refused.
_SELECT_NODES = frozenset(
    (
        "SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "ExpressionList",
        "Literal", "Identifier", "Function", "Asterisk", "QualifiedAsterisk",
        "ColumnsRegexpMatcher", "ColumnsListMatcher", "QualifiedColumnsRegexpMatcher",
        "QualifiedColumnsListMatcher",
        "ColumnsApplyTransformer", "ColumnsExceptTransformer", "ColumnsReplaceTransformer",
        "ColumnsReplaceTransformerReplacement", "Subquery", "WithElement", "TablesInSelectQuery",
        "TablesInSelectQueryElement", "TableExpression", "TableIdentifier", "TableJoin",
        "ArrayJoin", "OrderByElement", "InterpolateElement", "WindowDefinition",
        "WindowListElement", "SampleRatio", "QueryParameter", "Set", "Lambda",
    )
)  # fmt: skip


def _canonical(client: Any, sql: str) -> str:
    try:
        result = client.query("SELECT formatQuerySingleLine({sql:String})", parameters={"sql": sql})
    except Exception as error:
        raise ReadOnlyViolationError(f"not one valid statement: {_reason(error)}") from None
    return str(result.result_rows[0][0])


def _reason(error: Exception) -> str:
    """ClickHouse's first line, without the engine's echo of our wrapper and its long hints."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    start = text.find("Syntax error")
    if start >= 0:
        text = text[start:]
    for cut in (" Expected one of", ": In scope", " (SYNTAX_ERROR)"):
        text = text.split(cut)[0]
    return text.rstrip(". ")


def _node(line: str) -> AstNode:
    match = _NODE.match(line)
    if match is None:
        raise ReadOnlyViolationError(f"cannot read the parse tree line {line!r}")
    rest = (match.group("rest") or "").strip()
    name_match = _NAME.match(rest)
    name = name_match.group("name") if name_match else rest
    if name.startswith("(children"):
        name = ""
    return AstNode(len(match.group("indent")), match.group("kind"), name.strip())


def _root_extras(tree: Sequence[AstNode]) -> list[tuple[str, str]]:
    """The root's children after its first (the query list): FORMAT, SETTINGS, INTO OUTFILE."""
    children = [(node.kind, node.name) for node in tree if node.depth == 1]
    return children[1:]


def _count(tree: Sequence[AstNode], kind: str) -> int:
    return sum(1 for node in tree if node.kind == kind)


def _parents(tree: Sequence[AstNode]) -> list[int]:
    """For each node, the index of its parent (-1 for the root), from the indentation."""
    parents: list[int] = []
    open_nodes: list[int] = []
    for index, node in enumerate(tree):
        while open_nodes and tree[open_nodes[-1]].depth >= node.depth:
            open_nodes.pop()
        parents.append(open_nodes[-1] if open_nodes else -1)
        open_nodes.append(index)
    return parents


def _check_function(node: AstNode, parent: AstNode | None) -> None:
    name = node.name.lower()
    if parent is not None and parent.kind == "TableExpression":
        raise ReadOnlyViolationError(
            f"table function {node.name}() reads outside the analytics tables"
        )
    if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
        raise ReadOnlyViolationError(f"function {node.name}() reaches outside the analytics tables")


def _is_in_set_operand(tree: Sequence[AstNode], parents: Sequence[int], index: int) -> bool:
    """Whether this identifier is the right side of ``x IN name`` (a table, not a column)."""
    arguments = parents[index]
    if arguments < 0 or tree[arguments].kind != "ExpressionList":
        return False
    function = parents[arguments]
    if function < 0 or tree[function].kind != "Function":
        return False
    if tree[function].name.lower() not in _IN_FUNCTIONS:
        return False
    siblings = [i for i in range(arguments + 1, len(tree)) if parents[i] == arguments]
    return siblings[1:2] == [index]


def _check_table(name: str, database: str) -> None:
    qualifier, dot, _ = name.partition(".")
    if dot and qualifier.strip("`") != database:
        raise ReadOnlyViolationError(f"{name} is outside the analytics database {database!r}")
