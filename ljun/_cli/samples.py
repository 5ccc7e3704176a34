"""Placeholder: replaced by the samples command module."""
COMMANDS: list = []
