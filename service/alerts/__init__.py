"""Alerts the agency gets between digests: budget thresholds crossed, a forecast overrun."""
