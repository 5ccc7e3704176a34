"""Grading rule sets: the weights, pass mark and rounding of one exam year, as data."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .._jsondoc import COMMON_FIXES, packaged_validator, read_json, schema_problems
from ..errors import LjunError
from ..numbers import round_half_up

#: The rule set used when none is given (the bundled 2011/2012 rules).
DEFAULT_RULES = "ukk-2011-2012"

#: Semesters whose means make Nilai Rapor when a rule set does not say (guide
#: VIII.1: "nilai rata-rata semester 1, 2, 3, 4, dan 5").
DEFAULT_RAPOR_SEMESTERS: tuple[int, ...] = (1, 2, 3, 4, 5)

# Bundled rule sets, inside the ljun package.
_RULES_DIR = "data/rules"
_RULES_SCHEMA = "data/grading-rules.schema.json"


class GradingRulesError(LjunError, ValueError):
    """A grading rule set file is malformed or inconsistent.

    ``problems`` lists every problem found, one sentence each.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (message,)


@dataclass(frozen=True)
class GradingRules:
    """One named, versioned set of grading rules (a year's exam guide).

    Weights and marks are exact decimals.  Load with :func:`load_rules`.

    Attributes
    ----------
    name, version : str, int
        Identify the rule set in every output (``ukk-2011-2012``, 1).
    title, source : str
        What the rules are and which sections of which guide they come from.
    score_min, score_max : Decimal
        The score scale (0 to 10).
    decimals : int
        Decimals kept by every score and intermediate mean (2).
    rounding : str
        ``"half_up"``, the only rounding the guides use.
    teori_weight, praktik_weight : Decimal
        Weights of theory and practical in Nilai UKK (0.30, 0.70).
    praktik_pass_mark : Decimal
        Lowest practical score that passes (7.00).
    rapor_weight, ujian_sekolah_weight : Decimal
        Weights of Nilai Rapor and Ujian Sekolah in Nilai Sekolah (0.40, 0.60).
    kurikulum : str
        Curriculum letter of certificate numbers (``"A"`` = KTSP).
    rapor_semesters : tuple of int
        The semesters whose means make Nilai Rapor (``rapor.semester`` of the
        file; default :data:`DEFAULT_RAPOR_SEMESTERS`, 1 to 5).  A longer
        programme (4-year SMK, guide VI.A.5) names its semesters explicitly;
        report-card rows of other semesters are reported, never counted.
    path : str
        Where the rules were loaded from.
    """

    name: str
    version: int
    title: str
    source: str
    score_min: Decimal
    score_max: Decimal
    decimals: int
    rounding: str
    teori_weight: Decimal
    praktik_weight: Decimal
    praktik_pass_mark: Decimal
    rapor_weight: Decimal
    ujian_sekolah_weight: Decimal
    kurikulum: str
    rapor_semesters: tuple[int, ...] = DEFAULT_RAPOR_SEMESTERS
    path: str = ""

    @property
    def label(self) -> str:
        """``name v<version>``, as printed in outputs."""
        return f"{self.name} v{self.version}"

    def round(self, value: Decimal) -> Decimal:
        """Round ``value`` to the rule set's decimals, half up."""
        return round_half_up(value, self.decimals)


# Rules-specific advice where the common phrase would be vague.
_RULES_FIXES = {**COMMON_FIXES, "maximum": "give a smaller number (a weight lies from 0 to 1)"}


def bundled_rule_sets() -> tuple[str, ...]:
    """Names of the rule sets shipped with ljun (``ukk-2011-2012``, ...)."""
    folder = resources.files("ljun").joinpath(_RULES_DIR)
    return tuple(
        sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
    )


def load_rules(name: str | Path | None = None) -> GradingRules:
    """Load and check a grading rule set.

    Parameters
    ----------
    name : str or Path, optional
        The path of a rule-set JSON file, or the name of a bundled rule set
        (see :func:`bundled_rule_sets`); default :data:`DEFAULT_RULES`.

    Raises
    ------
    GradingRulesError
        When the file is missing or malformed, with every problem found,
        each naming the JSON path and the fix.
    """
    if name is None:
        name = DEFAULT_RULES
    path = Path(name)
    if path.is_file():
        return _load_rules_file(str(path.resolve()), path.stat().st_mtime_ns, str(path))
    if path.suffix == "" and path.parent == Path(".") and str(name) in bundled_rule_sets():
        resource = resources.files("ljun").joinpath(f"{_RULES_DIR}/{name}.json")
        with resources.as_file(resource) as bundled:
            return _load_rules_file(
                str(bundled), bundled.stat().st_mtime_ns, f"ljun/{_RULES_DIR}/{name}.json"
            )
    raise GradingRulesError(
        f"rules {str(name)!r} not found: give the path of a rules JSON file or one of "
        f"{', '.join(bundled_rule_sets())}"
    )


@functools.lru_cache(maxsize=8)
def _load_rules_file(path: str, mtime_ns: int, shown: str) -> GradingRules:
    # Decimal, never float: 0.30 must stay 0.30.
    document = read_json(
        path, what="rules", error=GradingRulesError, shown=shown, parse_float=Decimal
    )
    return parse_rules(document, source=shown)


def _plain(message: str) -> str:
    return re.sub(r"Decimal\('([^']*)'\)", r"\1", message)


def parse_rules(document: Any, *, source: str = "<rules>") -> GradingRules:
    """Check a parsed rules document (numbers as :class:`~decimal.Decimal`).

    The schema is ``ljun/data/grading-rules.schema.json``; beyond it, each
    pair of weights must add up to exactly 1 and the pass mark must lie on
    the scale.

    Raises
    ------
    GradingRulesError
        With every problem found.
    """
    problems = schema_problems(
        packaged_validator(_RULES_SCHEMA),
        document,
        fixes=_RULES_FIXES,
        default_fix="correct the value",
        message=lambda e: _plain(e.message),
    )
    if not problems:
        problems = _rules_consistency(document)
    if problems:
        raise GradingRulesError(
            f"rules {source}: {len(problems)} problem(s): " + " | ".join(problems), problems
        )
    return GradingRules(
        name=document["name"],
        version=document["version"],
        title=document.get("title", ""),
        source=document.get("source", ""),
        score_min=Decimal(document["scale"]["min"]),
        score_max=Decimal(document["scale"]["max"]),
        decimals=document["decimals"],
        rounding=document["rounding"],
        teori_weight=Decimal(document["nilai_ukk"]["teori"]),
        praktik_weight=Decimal(document["nilai_ukk"]["praktik"]),
        praktik_pass_mark=Decimal(document["lulus"]["praktik_min"]),
        rapor_weight=Decimal(document["nilai_sekolah"]["rapor"]),
        ujian_sekolah_weight=Decimal(document["nilai_sekolah"]["ujian_sekolah"]),
        kurikulum=document["sertifikat"]["kurikulum"],
        rapor_semesters=tuple(
            sorted(document.get("rapor", {}).get("semester", DEFAULT_RAPOR_SEMESTERS))
        ),
        path=source,
    )


def _rules_consistency(document: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, first, second in (
        ("nilai_ukk", "teori", "praktik"),
        ("nilai_sekolah", "rapor", "ujian_sekolah"),
    ):
        total = Decimal(document[key][first]) + Decimal(document[key][second])
        if total != 1:
            problems.append(
                f"$.{key}: the weights {first} and {second} add up to {total}, not 1; "
                "correct them so they add up to 1"
            )
    low, high = Decimal(document["scale"]["min"]), Decimal(document["scale"]["max"])
    if low >= high:
        problems.append(f"$.scale: min {low} is not below max {high}; correct the scale")
    pass_mark = Decimal(document["lulus"]["praktik_min"])
    if not low <= pass_mark <= high:
        problems.append(
            f"$.lulus.praktik_min: {pass_mark} is off the scale {low} to {high}; "
            "give a pass mark on the scale"
        )
    return problems


def rules_or_default(rules: GradingRules | None) -> GradingRules:
    return load_rules() if rules is None else rules
