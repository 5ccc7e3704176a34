"""Command modules of the ``ljun`` CLI: each exposes ``COMMANDS``, a list of click commands."""
