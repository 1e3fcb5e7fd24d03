"""The package layering from DESIGN.md, checked on the source: domain/ does no I/O and imports
no storage or web library; adapters/ never reaches up into infra/, projections/ or api/; the
application layer (api/application/) never imports an entry point (the CLI, a web framework);
the read side (projections/queries/) never imports a writer of the read models or the log; no
production package imports the tests' fixtures."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "domain": {
        "redis",
        "sqlalchemy",
        "clickhouse_connect",
        "chdb",
        "minio",
        "fastapi",
        "pymysql",
        "sqlite3",
        "importlib",
        "socket",
        "subprocess",
        "urllib",
        "requests",
        "httpx",
        "infra",
        "adapters",
        "projections",
        "api",
        "tests",
    },
    "adapters": {"infra", "projections", "api", "tests"},
    "infra": {"projections", "api", "tests"},
    "projections": {"api", "tests"},
    "api": {"tests"},  # test fixtures (the synthetic log) are never production code
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {file: bad for file, bad in offenders.items() if bad} == {}


def test_domain_opens_no_files() -> None:
    """No ``open(...)`` or ``x.open(...)`` call (a bar's ``open`` price is not a call)."""
    calls = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "domain").rglob("*.py")
        if any(_opens(node) for node in ast.walk(ast.parse(path.read_text())))
    ]
    assert calls == []


def _opens(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    called = node.func
    return (isinstance(called, ast.Name) and called.id == "open") or (
        isinstance(called, ast.Attribute) and called.attr == "open"
    )


def _modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, in full (``api.cli.common``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


INNER_RULES = {
    "api/application": ("api.cli", "typer", "rich", "fastapi", "uvicorn"),
    "projections/queries": (
        "api",
        "projections.runner",
        "projections.rebuild",
        "projections.sql.projection",
        "projections.sql.fold",
        "projections.clickhouse.projection",
        "projections.objectstore.snapshots",
        "infra.eventstore.sink",
        "infra.eventstore.writer_process",
    ),
}


@pytest.mark.parametrize("folder", sorted(INNER_RULES))
def test_inner_folders_respect_their_layer(folder: str) -> None:
    banned = INNER_RULES[folder]
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _modules(path)
            if any(name == ban or name.startswith(ban + ".") for ban in banned)
        )
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {file: bad for file, bad in offenders.items() if bad} == {}
