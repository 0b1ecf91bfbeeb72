"""Storage: the schema, engines for SQLite and PostgreSQL, migrations, and the driver fast path."""
