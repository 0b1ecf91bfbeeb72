"""Effects on the outside world, each done once: a queue in the database, run by the worker."""
