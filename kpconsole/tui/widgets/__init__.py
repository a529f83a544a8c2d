"""Widgets the console's screens share, one per module."""
