"""Alembic migrations for the formcheck database (run via formcheck.storage.db.migrate)."""
