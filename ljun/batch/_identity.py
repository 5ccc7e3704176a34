"""Page identity: which scanned page a sheet is, wherever its file has moved.

A sheet is identified by :func:`page_hash`: the digest of the file's bytes
plus the page number, so re-running the same files updates those sheets
instead of adding them again.

The digest is BLAKE3 in stores made by this ljun; stores that already held
sheets when the choice was recorded keep SHA-256, so their pages keep their
identity (``ResultsStore.file_digest_algorithm``).  BLAKE3 takes 1.5 ms
where SHA-256 takes 3.1 ms on a 4.6 MB uncompressed 200-dpi page, one core
(this machine, 2026-12-03): hashing is part of the 10 ms a sheet may cost
beyond decoding.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import blake3
import numpy as np

from ..vocabulary import DIGEST_ALGORITHMS, NEW_STORE_DIGEST, DigestAlgorithm

__all__ = ["file_digest", "page_hash", "image_hash"]


def file_digest(path: str | os.PathLike[str], algorithm: DigestAlgorithm = NEW_STORE_DIGEST) -> str:
    """Digest (hex) of a file's bytes; ``""`` when it cannot be read or is empty.

    ``algorithm`` is the results store's (``ResultsStore.file_digest_algorithm``).
    Empty files all have the same bytes (none): identified by their digest,
    every empty file would be "the same page given twice" and all but one
    would go unreported, so they are identified by their path instead.
    """
    if algorithm not in DIGEST_ALGORITHMS:
        raise ValueError(
            f"unknown file digest {algorithm!r}; one of {', '.join(DIGEST_ALGORITHMS)}"
        )
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return ""
            # hashlib's own loop, reading into one buffer: no Python-level
            # chunking, and no mapping of the file (a mapped 2 GB scan would
            # count in the resident memory).  BLAKE3 on one thread (its
            # default): the workers already use every core.
            if algorithm == "sha256":
                return hashlib.file_digest(handle, "sha256").hexdigest()
            return hashlib.file_digest(handle, _blake3).hexdigest()
    except OSError:
        return ""


def _blake3() -> Any:
    return blake3.blake3()


def page_hash(digest: str, page: int, *, source: str = "") -> str:
    """The identity of page ``page`` of a file whose bytes hash to ``digest``.

    A file that cannot be read (``digest == ""``) is identified by its
    ``source`` path instead, so its failure is stored once per path.
    """
    basis = f"file:{digest}:{page}" if digest else f"path:{source}:{page}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def image_hash(image: np.ndarray) -> str:
    """The identity of an in-memory page: SHA-256 of its shape and pixels."""
    digest = hashlib.sha256(repr(image.shape).encode("ascii"))
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()
