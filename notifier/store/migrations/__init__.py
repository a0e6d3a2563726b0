"""Alembic migrations, shipped inside the package so an installed notifier can migrate itself."""
