"""Cockpit accounts: the agency's people, their passwords, personal API tokens and login throttle.

Owns the `users`, `api_tokens` and `login_throttle` tables.
"""
