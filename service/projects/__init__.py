"""A project's mode on first contact: observe (no Jira write, no client mail) until go-live."""
