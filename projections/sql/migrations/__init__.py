"""Alembic migrations of the SQL read model (run on open by ``projections.sql.migrate``)."""
