"""The closed vocabulary of ljun, in one place: pakets, answer marks, flags, reasons, kinds.

Every word here is also what the result records, the store and the exports
carry, so each enum is a :class:`~enum.StrEnum`: ``Flag.ROTATED == "rotated"``
and a stored string compares equal to its member.

Flags
-----
A flag is a word, or a word and details joined by ``:`` (``answer_unsure:12``,
``unsure:nama:6``, ``no_key:S``); :meth:`Flag.at` builds one, :func:`flag_word`
takes the word back.  A sheet goes to review when it carries any flag whose
word is not in :data:`INFO_FLAGS`.

Failures (no reading at all; ``failure`` is set):

``no_fiducials``            some corner marks found, but not all four where the template has them
``blank_page``              the page has (almost) no ink
``wrong_template``          no corner mark at all on a printed page, or corner
                            marks whose bubble rings and box lines are not where
                            this template has them
``residual_too_high``       the corner marks do not fit one sheet (warped, torn)
loader reasons              ``not_found``, ``unreadable_file``, ``empty_file``,
                            ``unsupported_format``, ``too_large``, ``truncated``,
                            ``corrupt_image``, ``unsupported_image``, ``encrypted_pdf``,
                            ``corrupt_pdf``, ``pdf_tool_missing`` (see :mod:`ljun.load`)
``reader_error``            a reader raised on the page (a bug, not bad content)
``not_found``, ``empty_file``, ``unsupported_format``, ``corrupt_image``,
``unsupported_image``, ``corrupt_pdf``, ``pdf_tool_missing``
                            the loader's other reasons (:mod:`ljun.load`)

Review (the sheet was read, a person must look):

``answer_unsure:<item>``        a question's decision is near a boundary
                                (faint mark, residue close to the mark, smudge)
``unsure:<field>:<column>``     the same for an identity column (``paket``: column 1)
``multi_mark:<field>:<column>`` two or more marks in an identity column (read ``?``)
``no_paket``                    no paket bubble marked
``blank:nama``                  no letter marked in the name grid
``invalid:nomor_peserta``       not 14 digits, or the check digit fails (if enabled)
``invalid:tanggal_lahir``       not a real date DD-MM-YY
``invalid:kode_kompetensi``     not a code of the guide's Lampiran 2 list
``invalid:barcode``             a barcode was read but it is not ``LJUN-<paket>-<6 digits>``
``barcode_paket_mismatch``      the barcode's paket differs from the bubbled paket
``unreadable:barcode``          the barcode area holds bars that do not decode
``registration_unsure``         the fit is usable but worse than usual: corner-mark
                                residual above its review limit, or the bubble rings
                                not found (the form was recognised by its box lines only)

Scoring and reconciliation (a person must look):

``no_key:<paket>``              no answer key was given for the sheet's paket
``paket_from_barcode``          no paket bubble read; the key was chosen by the barcode's paket
``duplicate_nomor_peserta``     another sheet (this batch or an earlier one) has the same nomor
``duplicate_barcode``           the same for the barcode
``not_on_attendance``           the nomor peserta is on no attendance list given
``marked_absent``               the attendance list marks this participant absent

Review (set on the review page, :mod:`ljun.review`):

``rejected``                    an operator rejected the page (not an LJUN), with a reason
``reopened``                    a supervisor sent a resolved sheet back to review
``registered_by_hand``          registered from four corner marks an operator clicked

Informational (kept on the record, no review on their own):

``rotated``                     the sheet was fed upside down (or sideways) and read so
``answer_multi:<item>``         a question clearly has two or more marks (answer ``*``)
``no_barcode``                  the barcode area is empty (a sheet printed without one)
``barcode_serial_unread``       the barcode's paket symbol was read, its serial was not
                                (bars merged by the scan; recorded ``LJUN-<paket>-??????``):
                                the paket checks still hold, the serial takes no part in
                                duplicate matching (the nomor peserta still does)

>>> Flag.ANSWER_UNSURE.at(12), flag_word("unsure:nama:6"), flag_reason("unsure:nama:6")
('answer_unsure:12', 'unsure', 'unsure:nama')
>>> needs_review(("rotated", "answer_multi:3")), needs_review(("answer_unsure:12",))
(False, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal, get_args

__all__ = [
    "Paket",
    "PAKETS",
    "BLANK",
    "MULTI",
    "UNREAD",
    "Flag",
    "INFO_FLAGS",
    "FailureReason",
    "REGISTRATION_FAILURES",
    "LOAD_FAILURES",
    "ReconciliationKind",
    "BatchKind",
    "BatchStatus",
    "WatchOutcome",
    "DigestAlgorithm",
    "DIGEST_ALGORITHMS",
    "NEW_STORE_DIGEST",
    "flag_word",
    "flag_reason",
    "needs_review",
    "is_failure",
]

#: A booklet: Paket A, Paket B, or S for Paket Susulan (the make-up sitting).
Paket = Literal["A", "B", "S"]

#: The pakets in report order.
PAKETS: tuple[Paket, ...] = get_args(Paket)

#: An answer with no mark.
BLANK = ""
#: An answer with more than one mark.
MULTI = "*"
#: An identity character (or the paket) that could not be read.
UNREAD = "?"


class FailureReason(StrEnum):
    """Why a page has no reading at all (``SheetReading.failure``)."""

    # Registration (ljun.register)
    NO_FIDUCIALS = "no_fiducials"
    BLANK_PAGE = "blank_page"
    WRONG_TEMPLATE = "wrong_template"
    RESIDUAL_TOO_HIGH = "residual_too_high"
    # Loading (ljun.load, whose docstring says what each means)
    NOT_FOUND = "not_found"
    UNREADABLE_FILE = "unreadable_file"
    EMPTY_FILE = "empty_file"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"
    TRUNCATED = "truncated"
    CORRUPT_IMAGE = "corrupt_image"
    UNSUPPORTED_IMAGE = "unsupported_image"
    ENCRYPTED_PDF = "encrypted_pdf"
    CORRUPT_PDF = "corrupt_pdf"
    PDF_TOOL_MISSING = "pdf_tool_missing"
    # A reader raised on the page (a bug, not bad content; ljun.batch)
    READER_ERROR = "reader_error"


#: Failure reasons of registration.
REGISTRATION_FAILURES: frozenset[FailureReason] = frozenset(
    {
        FailureReason.NO_FIDUCIALS,
        FailureReason.BLANK_PAGE,
        FailureReason.WRONG_TEMPLATE,
        FailureReason.RESIDUAL_TOO_HIGH,
    }
)

#: Failure reasons of the page loaders.
LOAD_FAILURES: frozenset[FailureReason] = (
    frozenset(FailureReason) - REGISTRATION_FAILURES - {FailureReason.READER_ERROR}
)


class Flag(StrEnum):
    """The word of a flag; see the module docstring for what each means."""

    # Reading
    ANSWER_UNSURE = "answer_unsure"
    UNSURE = "unsure"
    MULTI_MARK = "multi_mark"
    NO_PAKET = "no_paket"
    BLANK = "blank"
    INVALID = "invalid"
    BARCODE_PAKET_MISMATCH = "barcode_paket_mismatch"
    UNREADABLE = "unreadable"
    REGISTRATION_UNSURE = "registration_unsure"
    # Scoring
    NO_KEY = "no_key"
    PAKET_FROM_BARCODE = "paket_from_barcode"
    # Reconciliation
    DUPLICATE_NOMOR_PESERTA = "duplicate_nomor_peserta"
    DUPLICATE_BARCODE = "duplicate_barcode"
    NOT_ON_ATTENDANCE = "not_on_attendance"
    MARKED_ABSENT = "marked_absent"
    # Review (ljun.review)
    REJECTED = "rejected"  # an operator rejected the page (not an LJUN): final
    REOPENED = "reopened"  # a supervisor sent a resolved sheet back to review
    REGISTERED_BY_HAND = "registered_by_hand"  # registered from clicked corner marks
    # Information only
    ROTATED = "rotated"
    ANSWER_MULTI = "answer_multi"
    NO_BARCODE = "no_barcode"
    BARCODE_SERIAL_UNREAD = "barcode_serial_unread"

    def at(self, *details: object) -> str:
        """The flag with its details: ``Flag.UNSURE.at("nama", 6) == "unsure:nama:6"``."""
        return ":".join([self.value, *(str(d) for d in details)])


#: Flag words that do not send a sheet to review on their own.
INFO_FLAGS: frozenset[str] = frozenset(
    {Flag.ROTATED, Flag.ANSWER_MULTI, Flag.NO_BARCODE, Flag.BARCODE_SERIAL_UNREAD}
)


class ReconciliationKind(StrEnum):
    """What a batch's reconciliation found (``ReconciliationEntry.kind``)."""

    FILE_PAGES = "file_pages"  # pages per file (detail: counts as JSON)
    DUPLICATE_PAGE = "duplicate_page"  # the same page given twice: stored once
    READER_ERROR = "reader_error"  # a reader raised on a page (detail: the exception)
    DUPLICATE_NOMOR_PESERTA = "duplicate_nomor_peserta"
    DUPLICATE_BARCODE = "duplicate_barcode"
    NOT_ON_ATTENDANCE = "not_on_attendance"  # scanned, on no attendance list
    MARKED_ABSENT = "marked_absent"  # scanned, but the list marks them absent
    ABSENT = "absent"  # marked absent, no sheet
    MISSING_SHEET = "missing_sheet"  # listed, not marked absent, no sheet


class BatchKind(StrEnum):
    """What wrote a batch row of the store."""

    SCORE = "score"
    RESCORE = "rescore"
    GRADE = "grade"  # a grading run that issued certificate numbers (ljun.grade._registry)
    REVIEW = "review"  # an operator's decision rescored a sheet (ljun.review)
    WATCH = "watch"  # a few files the folder watcher (ljun watch) scored together


class BatchStatus(StrEnum):
    """Where a batch stands; ``interrupted`` is a run that died before it finished."""

    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class WatchOutcome(StrEnum):
    """What the folder watcher did with a file of its inbox (table ``watched_files``)."""

    DONE = "done"  # scored (some pages may have failed), moved to done/DAY/
    QUARANTINE = "quarantine"  # no page could be read, moved to quarantine/ with a reason
    DUPLICATE = "duplicate"  # the same bytes were scored before, moved to done/DAY/ unscored


#: A digest that identifies a scan file's bytes (``ljun.batch.file_digest``).
DigestAlgorithm = Literal["blake3", "sha256"]
#: Every file digest a results store may record (``store_settings``).
DIGEST_ALGORITHMS: tuple[DigestAlgorithm, ...] = get_args(DigestAlgorithm)
#: The file digest of a new results store, and of files hashed without one.
NEW_STORE_DIGEST: DigestAlgorithm = "blake3"


def flag_word(flag: str) -> str:
    """The word of a flag, without its details: ``"answer_unsure:12"`` -> ``"answer_unsure"``."""
    return flag.split(":", 1)[0]


def flag_reason(flag: str) -> str:
    """A flag without its item or column numbers: the reason it stands for.

    >>> flag_reason("answer_unsure:12"), flag_reason("unsure:nama:6"), flag_reason("no_key:S")
    ('answer_unsure', 'unsure:nama', 'no_key:S')
    """
    return ":".join(part for part in flag.split(":") if not part.isdigit())


def needs_review(flags: Iterable[str]) -> bool:
    """True when any flag is not informational (see :data:`INFO_FLAGS`)."""
    return any(flag_word(flag) not in INFO_FLAGS for flag in flags)


def is_failure(word: str) -> bool:
    """True when ``word`` is a failure reason (the page has no reading)."""
    return word in FailureReason._value2member_map_
