"""`make demo`: the sandbox, SQLite and an SMTP sink running one scripted week end to end."""
