"""Canonical data: reading, validating and generating users / items / events."""
