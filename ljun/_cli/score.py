"""Placeholder: replaced by the score command module."""
COMMANDS: list = []
