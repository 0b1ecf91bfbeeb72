"""Scope: the baseline, flagging and pricing new work, decisions, and the write-back to Jira."""
