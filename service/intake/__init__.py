"""Webhook intake: verify, bound and store each delivery before answering; bulk import."""
