"""The Flask app: the factory, one blueprint per surface, the JSON error shape, metrics."""
