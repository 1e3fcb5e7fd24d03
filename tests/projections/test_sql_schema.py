"""The models are the one description of the SQL read model: the schema the migrations build
(SQLite and MariaDB, reflected) is exactly the models' metadata, and a new revision generated
from the models carries what changed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from projections.sql import migrate
from projections.sql.engine import create_read_model_engine
from projections.sql.models import ORDERS, RUNS, TRADING, Base, row_defaults
from projections.sql.types import exact_decimal


def schema_differences(url: str, metadata: sa.MetaData) -> list[Any]:
    """What alembic's autogenerate would change to make the migrated database ``metadata``."""
    engine = create_read_model_engine(url, create=False)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": migrate.VERSION_TABLE,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def drifted_models() -> sa.MetaData:
    """The models with one column added and one narrowed, as a careless edit would leave them."""
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["orders"].append_column(sa.Column("fee_total", exact_decimal()))
    metadata.tables["fills"].c.venue.type = sa.String(32)
    return metadata


def test_the_migrated_schema_is_exactly_the_models(sql_url: str) -> None:
    assert schema_differences(sql_url, Base.metadata) == []


def test_the_comparison_sees_a_model_the_migrations_do_not_build(sql_url: str) -> None:
    differences = schema_differences(sql_url, drifted_models())
    kinds = sorted(
        str(difference[0][0] if isinstance(difference, list) else difference[0])
        for difference in differences
    )
    assert kinds == ["add_column", "modify_type"]


def test_a_generated_revision_adds_what_the_models_gained(tmp_path: Path) -> None:
    unchanged = migrate.new_revision("nothing changed", directory=tmp_path / "same")
    assert "op." not in unchanged.read_text()
    assert unchanged.name == f"{int(migrate.head_revision() or 0) + 1:04d}_nothing_changed.py"

    gained = migrate.new_revision(
        "fee total", directory=tmp_path / "gained", metadata=drifted_models()
    )
    text = gained.read_text()
    assert "batch_op.add_column(sa.Column('fee_total', exact_decimal(), nullable=True))" in text
    assert "from projections.sql.types import exact_decimal, utc_micros" in text
    assert "batch_op.drop_column('fee_total')" in text


def test_a_new_row_starts_from_the_model_defaults() -> None:
    assert row_defaults(ORDERS) == {column.name: None for column in ORDERS.c} | {
        "account": "",
        "strategy": "",
        "symbol": "",
        "status": "SUBMITTED",
        "filled_quantity": Decimal(0),
    }
    assert row_defaults(TRADING)["state"] == "ACTIVE"
    assert row_defaults(TRADING)["kill_switch_engaged"] is False
    assert row_defaults(RUNS)["status"] == "RUNNING"


def test_a_row_default_must_be_a_plain_value() -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("at", sa.DateTime, default=sa.func.now()))
    with pytest.raises(TypeError, match=r"t\.at: a row default must be a plain value"):
        row_defaults(table)
