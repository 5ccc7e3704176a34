"""Calibration: the named thresholds of registration, bubble reading and decoding.

Every threshold the reading pipeline uses lives in a calibration JSON file
(``calibration/default.json`` of the repository; ``calibration/README.md``
says how its values were fitted) and is loaded into the frozen
:class:`Calibration`.  Nothing in the kernels is a bare number.

Units
-----
*darkness*
    A bubble's ink, as a fraction: 0 is the local paper, 1 is the black of the
    sheet's own fiducials, measured on every sheet; the printed form's own ink
    (ring, option letter) is subtracted, so a blank bubble reads about 0 and a
    solid 2B pencil mark about 0.7-1.
*ratio*
    A bubble's darkness over the darkest bubble of the same question/column.
*mm*
    Millimetres on paper.

The file is ``{"format": "ljun-calibration/1", "register": {...}, "read":
{...}, "decode": {...}}`` (plus free-text ``description`` and
``derived_from``, and the ``verification`` record ``ljun calibrate`` writes,
:data:`VERIFICATION_SCHEMA`); every key of the three sections of
:data:`CALIBRATION_SCHEMA` is required, so a file says everything it means.  Errors name the file, the key and the fix.

>>> bands = load_calibration().read.gray
>>> 0 < bands.blank_sure_max < bands.mark_min <= bands.marked_sure_min
True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._bundled import bundled_folder, bundled_names, find_file_or_bundled
from ._jsondoc import COMMON_FIXES, read_json, schema_problems
from .errors import CalibrationError

if TYPE_CHECKING:
    import jsonschema
    import numpy as np

__all__ = [
    "CALIBRATION_FORMAT",
    "CALIBRATION_SCHEMA",
    "VERIFICATION_SCHEMA",
    "DEFAULT_CALIBRATION",
    "RegisterCalibration",
    "Bands",
    "ReadCalibration",
    "DecodeCalibration",
    "Calibration",
    "load_calibration",
    "parse_calibration",
    "resolve_calibration_path",
]

#: The ``format`` value of a calibration file this version reads.
CALIBRATION_FORMAT = "ljun-calibration/1"

#: The calibration used when none is named.
DEFAULT_CALIBRATION_NAME = "default"

#: The default calibration in the repository (the source people edit).
DEFAULT_CALIBRATION = Path("calibration") / "default.json"

#: Where the bundled calibrations are inside the installed package (a copy of
#: the repository's ``calibration/``).
BUNDLED_CALIBRATIONS = bundled_folder("calibration")

#: Check-digit rules known for the nomor peserta.
NOMOR_PESERTA_CHECKS = ("none", "luhn")


@dataclass(frozen=True)
class RegisterCalibration:
    """Thresholds of :func:`ljun.register.register`.

    Attributes
    ----------
    search_dpi : float
        Resolution (dpi) of the downscaled copy the fiducials are searched on.
    fiducial_ink_fraction : float
        A pixel of the search copy is ink when darker than this fraction of the
        paper level (0-1).
    fiducial_size_tolerance : float
        Accepted relative deviation of a fiducial candidate's side from the
        template's (fraction).
    blank_page_ink_max : float
        A page with less ink than this (fraction of its area) is ``blank_page``.
    residual_max_mm : float
        RMS distance (mm) between the measured fiducial corners and where the
        homography puts them, above which the sheet is ``residual_too_high``.
    residual_review_mm : float
        Above this residual (mm) the sheet is read but sent to review.
    ring_darkness_min : float
        Darkness (see module doc) a printed bubble ring must reach at its
        predicted place to count as found.
    form_match_min : float
        Fraction of bubble rings that must be found; below it the sheet is
        ``wrong_template`` (or misregistered).
    form_match_review : float
        Below this fraction the sheet is read but sent to review.
    """

    search_dpi: float
    fiducial_ink_fraction: float
    fiducial_size_tolerance: float
    blank_page_ink_max: float
    residual_max_mm: float
    residual_review_mm: float
    ring_darkness_min: float
    form_match_min: float
    form_match_review: float


@dataclass(frozen=True)
class Bands:
    """Confidence bands of a bubble's mark evidence, for one kind of scan.

    A bubble's evidence (see :func:`ljun.read.mark_evidence`) falls in one of
    four bands: blank-sure (``<= blank_sure_max``), blank-unsure,
    marked-unsure (``>= mark_min``) and marked-sure (``>= marked_sure_min``).

    Attributes
    ----------
    blank_sure_max, mark_min, marked_sure_min : float
        Band edges (darkness).
    core_offset : float
        Subtracted from a bubble's centre darkness before it counts as
        evidence (darkness): what the printed option letter can add on this
        kind of scan beyond its group's blank level.
    line_halo_min : float
        Darkness of the halo just outside a bubble's ring above which a
        pencil line runs into the bubble (a 1-bit scan breaks a light line
        into dashes, so its halo reads lighter).
    line_allowance : float
        Mean darkness a pencil line through a bubble can add (darkness): a
        1-bit scan turns a gray line black, so a line adds more there.
    """

    blank_sure_max: float
    mark_min: float
    marked_sure_min: float
    core_offset: float
    line_halo_min: float
    line_allowance: float

    @property
    def blank_unsure_middle(self) -> float:
        """The middle of the blank-unsure band: the evidence a look gives a
        bubble it reads blank but sends to review."""
        return (self.blank_sure_max + self.mark_min) / 2

    @property
    def marked_unsure_middle(self) -> float:
        """The middle of the marked-unsure band: the evidence a look gives a
        bubble it reads marked but sends to review."""
        return (self.mark_min + self.marked_sure_min) / 2

    def unsure(self, evidence: np.ndarray) -> np.ndarray:
        """Where ``evidence`` (any shape) lies between the blank-sure and the
        marked-sure bands (bool, same shape)."""
        return (evidence > self.blank_sure_max) & (evidence < self.marked_sure_min)


@dataclass(frozen=True)
class ReadCalibration:
    """Thresholds of the bubble kernel (:mod:`ljun.read`).

    Within a question or column, a bubble counts as a mark only if it also
    reaches ``mark_ratio`` of the darkest one there; ``residue_ratio_max``
    and ``multi_ratio_min`` bound the unsure zone around that ratio (erasure
    residue below, a second real mark above).

    Attributes
    ----------
    gray, bilevel, dithered : Bands
        Bands for 8-bit gray scans, for 1-bit (black and white) scans made
        by a threshold, and for 1-bit scans made by error diffusion (read
        by their dot density).
    residue_ratio_max, mark_ratio, multi_ratio_min : float
        Ratios to the darkest bubble of the same item.
    line_contact_max : int
        A line touches at most this many of the halo's 40 directions; more
        is a mark spilling over its ring.
    """

    gray: Bands
    bilevel: Bands
    dithered: Bands
    residue_ratio_max: float
    mark_ratio: float
    multi_ratio_min: float
    line_contact_max: int


@dataclass(frozen=True)
class DecodeCalibration:
    """Rules of :mod:`ljun.decode`.

    Attributes
    ----------
    nomor_peserta_check : str
        ``"none"`` (only 14 digits are required) or ``"luhn"`` (the 14th digit
        is a Luhn check digit over the first 13).
    """

    nomor_peserta_check: str


@dataclass(frozen=True)
class Calibration:
    """Every threshold of the reading pipeline; see :func:`load_calibration`."""

    register: RegisterCalibration
    read: ReadCalibration
    decode: DecodeCalibration
    source: str = ""
    digest: str = ""

    @property
    def identity(self) -> str:
        """What the store records per sheet: the file's name and its content hash.

        >>> identity = load_calibration().identity
        >>> identity.startswith("default@"), len(identity)
        (True, 20)
        """
        name = Path(self.source).stem if self.source else "calibration"
        return f"{name}@{self.digest[:12]}"


def _number(minimum: float, maximum: float, exclusive_min: bool = False) -> dict[str, Any]:
    bound = {"exclusiveMinimum": minimum} if exclusive_min else {"minimum": minimum}
    return {"type": "number", **bound, "maximum": maximum}


def _section(spec: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": spec,
        "required": sorted(spec),
        "additionalProperties": False,
    }


_BANDS = _section(
    {
        "blank_sure_max": _number(0, 1),
        "mark_min": _number(0, 1, exclusive_min=True),
        "marked_sure_min": _number(0, 1, exclusive_min=True),
        "core_offset": _number(0, 1),
        "line_halo_min": _number(0, 1, exclusive_min=True),
        "line_allowance": _number(0, 1),
    }
)

_COUNT = {"type": "integer", "minimum": 0}
_OUTCOME = _section(
    {
        "sheets": _COUNT,
        "silent_errors": _COUNT,
        "review": _COUNT,
        "review_rate": _number(0, 1),
        "needless_reviews": _COUNT,
    }
)
_SCAN_KINDS = ["gray", "bilevel", "dithered"]

#: Schema of the optional ``verification`` section ``ljun calibrate`` writes
#: (:meth:`ljun.calibrate.Verification.document`): what the fitting sheets
#: gave when read by the whole pipeline with this calibration.  A record
#: only: nothing of it is loaded.
VERIFICATION_SCHEMA = _section(
    {
        "method": {"type": "string"},
        "measured": _OUTCOME,
        "predicted": _OUTCOME,
        "kinds": {
            "type": "object",
            "propertyNames": {"enum": _SCAN_KINDS},
            "additionalProperties": _section(
                {"label": {"type": "string"}, "measured": _OUTCOME, "predicted": _OUTCOME}
            ),
        },
        "silent_errors": {
            "type": "array",
            "items": _section(
                {
                    "source": {"type": "string"},
                    "page": {"type": "integer", "minimum": 1},
                    "kind": {"enum": _SCAN_KINDS},
                    "fields": {"type": "array", "items": {"type": "string"}},
                }
            ),
        },
        "decisions": {"type": "array", "items": {"type": "string"}},
    }
)

#: JSON schema of a calibration file.
CALIBRATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "format": {"const": CALIBRATION_FORMAT},
        "description": {"type": "string"},
        "derived_from": {"type": "string"},
        "register": _section(
            {
                "search_dpi": _number(10, 300, exclusive_min=True),
                "fiducial_ink_fraction": _number(0, 1, exclusive_min=True),
                "fiducial_size_tolerance": _number(0, 1, exclusive_min=True),
                "blank_page_ink_max": _number(0, 1),
                "residual_max_mm": _number(0, 10, exclusive_min=True),
                "residual_review_mm": _number(0, 10, exclusive_min=True),
                "ring_darkness_min": _number(0, 1),
                "form_match_min": _number(0, 1),
                "form_match_review": _number(0, 1),
            }
        ),
        "read": _section(
            {
                "gray": _BANDS,
                "bilevel": _BANDS,
                "dithered": _BANDS,
                "residue_ratio_max": _number(0, 1),
                "mark_ratio": _number(0, 1, exclusive_min=True),
                "multi_ratio_min": _number(0, 1, exclusive_min=True),
                "line_contact_max": {"type": "integer", "minimum": 1, "maximum": 40},
            }
        ),
        "decode": _section({"nomor_peserta_check": {"enum": list(NOMOR_PESERTA_CHECKS)}}),
        "verification": VERIFICATION_SCHEMA,
    },
    "required": ["format", "register", "read", "decode"],
    "additionalProperties": False,
}

# Calibration-specific advice where the common phrase would be vague.
_CALIBRATION_FIXES = {
    **COMMON_FIXES,
    "required": "add the missing key (see calibration/default.json)",
}


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # only where a calibration file is checked: not in workers

    return jsonschema.Draft202012Validator(CALIBRATION_SCHEMA)


def resolve_calibration_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The calibration file to use: ``path``, a bundled calibration by name, or the default.

    ``path`` is a calibration JSON file (relative to the current folder, or
    absolute), or the name of one shipped inside the package (``default``,
    or any ``calibration/NAME.json`` of the repository); ``None`` is the
    bundled ``default``.

    Raises
    ------
    CalibrationError
        When there is no such file or bundled calibration.
    """
    if path is None:
        path = DEFAULT_CALIBRATION_NAME
    found = find_file_or_bundled(path, BUNDLED_CALIBRATIONS)
    if found is not None:
        return found
    names = ", ".join(bundled_names(BUNDLED_CALIBRATIONS))
    raise CalibrationError(
        f"calibration {str(path)!r} not found; give the path of a calibration JSON file "
        f"or the name of a bundled one ({names})"
    )


def load_calibration(path: str | os.PathLike[str] | None = None) -> Calibration:
    """Load and validate a calibration file, or a bundled one by name (default ``default``).

    Raises
    ------
    CalibrationError
        Naming the file, the JSON path of each problem and its fix.
    """
    resolved = resolve_calibration_path(path)
    return _load_file(str(resolved.resolve()), resolved.stat().st_mtime_ns, str(resolved))


@functools.lru_cache(maxsize=8)
def _load_file(path: str, mtime_ns: int, shown: str) -> Calibration:
    document = read_json(path, what="calibration", error=CalibrationError, shown=shown)
    return parse_calibration(document, source=shown)


def parse_calibration(document: Any, *, source: str = "<calibration>") -> Calibration:
    """Validate a calibration document and build a :class:`Calibration`.

    Besides the schema, the bands must be ordered:
    ``blank_sure_max < mark_min <= marked_sure_min`` (gray, bilevel, dithered),
    ``residue_ratio_max <= mark_ratio <= multi_ratio_min`` and
    ``residual_review_mm <= residual_max_mm``,
    ``form_match_min <= form_match_review``.

    Raises
    ------
    CalibrationError
        Listing every problem, each with its JSON path.
    """
    problems = schema_problems(
        _validator(), document, fixes=_CALIBRATION_FIXES, default_fix="see calibration/README.md"
    )
    if problems:
        raise CalibrationError(_message(source, problems))
    register = _build(RegisterCalibration, document["register"])
    section = dict(document["read"])
    section["gray"] = _build(Bands, section["gray"])
    section["bilevel"] = _build(Bands, section["bilevel"])
    section["dithered"] = _build(Bands, section["dithered"])
    read = _build(ReadCalibration, section)
    decode = _build(DecodeCalibration, document["decode"])
    order = []
    for kind in ("gray", "bilevel", "dithered"):
        bands = getattr(read, kind)
        order += [
            (
                bands.blank_sure_max < bands.mark_min,
                f"$.read.{kind}: blank_sure_max must be below mark_min",
            ),
            (
                bands.mark_min <= bands.marked_sure_min,
                f"$.read.{kind}: mark_min must not exceed marked_sure_min",
            ),
        ]
    order += [
        (
            read.residue_ratio_max <= read.mark_ratio,
            "$.read: residue_ratio_max must not exceed mark_ratio",
        ),
        (
            read.mark_ratio <= read.multi_ratio_min,
            "$.read: mark_ratio must not exceed multi_ratio_min",
        ),
        (
            register.residual_review_mm <= register.residual_max_mm,
            "$.register: residual_review_mm must not exceed residual_max_mm",
        ),
        (
            register.form_match_min <= register.form_match_review,
            "$.register: form_match_min must not exceed form_match_review",
        ),
    ]
    problems = [f"{text} (fix: reorder the band edges)" for ok, text in order if not ok]
    if problems:
        raise CalibrationError(_message(source, problems))
    digest = hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    return Calibration(register=register, read=read, decode=decode, source=source, digest=digest)


def _build(cls: type, section: dict[str, Any]) -> Any:
    convert: dict[object, Any] = {"float": float, "int": int}
    return cls(**{f.name: convert.get(f.type, lambda v: v)(section[f.name]) for f in fields(cls)})


def _message(source: str, problems: list[str]) -> str:
    return "\n".join(
        [f"calibration {source}: {len(problems)} problem(s):", *[f"  - {p}" for p in problems]]
    )
