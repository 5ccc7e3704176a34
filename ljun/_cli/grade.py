"""Placeholder replaced by the grade command module."""
COMMANDS: list = []
