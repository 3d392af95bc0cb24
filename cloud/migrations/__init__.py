"""Forward-only migrations of the hub database (Alembic; run by ``cloud.db.migrate``)."""
