"""The only code that talks to Jira, and the readers of the shapes Jira sends."""
