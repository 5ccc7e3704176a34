"""The records that flow between the stages of the pipeline (ARCHITECTURE.md §2).

These are the contracts between modules: loaders yield :class:`Page` (or
:class:`PageFailure`), the reading pipeline turns a page into a
:class:`SheetReading`, scoring turns a reading into a result record with the
keys of :data:`RESULT_KEYS` (ARCHITECTURE.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .vocabulary import FailureReason

__all__ = ["Page", "PageFailure", "SheetReading", "RESULT_KEYS", "IDENTITY_FIELDS"]

#: Keys of one result record, in the order CSV columns are written (ARCHITECTURE.md §3).
RESULT_KEYS: tuple[str, ...] = (
    "source",
    "page",
    "template",
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "paket",
    "barcode",
    "answers",
    "correct",
    "score",
    "flags",
    "review",
)

#: Identity fields decoded from bubble grids, as named in templates and records.
IDENTITY_FIELDS: tuple[str, ...] = (
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "paket",
)


@dataclass(frozen=True, eq=False)
class Page:
    """One scanned page, as a loader yields it.

    Attributes
    ----------
    image : (H, W) ndarray of uint8
        Gray levels, 0 = black, 255 = white.
    source : str
        The file's path as the user gave it (or as found inside a folder given).
    page : int
        1-based page number within ``source``.
    dpi : float or None
        Resolution recorded in the file, ``None`` where the file has none.
    bilevel : bool
        The file holds the page one bit a pixel (a CCITT Group 3/4 page, a
        1-bit PNG), so every pixel of ``image`` is 0 or 255: the reader need
        not look for gray levels (:func:`ljun.read.scan_kind`).  False: not
        known.
    """

    image: np.ndarray
    source: str
    page: int
    dpi: float | None = None
    bilevel: bool = False


@dataclass(frozen=True)
class PageFailure:
    """A page (or whole file) that could not be loaded.

    ``reason`` is one of :data:`ljun.vocabulary.LOAD_FAILURES`; ``detail`` is
    one sentence for people.
    ``page`` is 1-based, or 0 when the file could not be opened at all.
    """

    source: str
    page: int
    reason: FailureReason
    detail: str


@dataclass(frozen=True, eq=False)
class SheetReading:
    """What the reading pipeline made of one page.

    Identity strings use ``?`` for a column that could not be read.  ``answers``
    holds one string per item: the letter, ``""`` for blank, ``"*"`` for more
    than one mark.  ``darkness`` and ``confidence`` are per bubble, in the order
    of the template's bubble geometry, and are empty when registration failed;
    they are kept so the store and the review page can show why a decision was
    made.  ``failure`` is the registration failure reason, ``None`` on success.
    """

    source: str
    page: int
    template: str
    nomor_peserta: str = ""
    nama: str = ""
    tanggal_lahir: str = ""
    kode_kompetensi: str = ""
    paket: str = ""
    barcode: str = ""
    answers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    review: bool = False
    darkness: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    failure: FailureReason | None = None

    def result_fields(self) -> dict[str, Any]:
        """This reading's part of the result record (ARCHITECTURE.md §3): the
        page, its identity fields and answers (a list); scoring adds the rest."""
        return {
            "source": self.source,
            "page": self.page,
            "template": self.template,
            "nomor_peserta": self.nomor_peserta,
            "nama": self.nama,
            "tanggal_lahir": self.tanggal_lahir,
            "kode_kompetensi": self.kode_kompetensi,
            "paket": self.paket,
            "barcode": self.barcode,
            "answers": list(self.answers),
        }
