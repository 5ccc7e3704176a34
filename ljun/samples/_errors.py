"""The error of the sample generator."""

from __future__ import annotations

from ..errors import LjunError

__all__ = ["SamplesError"]


class SamplesError(LjunError, ValueError):
    """A sample-generation request is invalid (unknown level, bad count, bad option)."""
