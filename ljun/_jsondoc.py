"""JSON input documents (templates, answer keys, grading rules, calibration).

One place for what every JSON input needs: reading the file with an error that
names the line and column, validating against a JSON Schema, and turning each
schema error into one sentence that names the JSON path and the fix.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

__all__ = ["COMMON_FIXES", "json_path", "read_json", "packaged_validator", "schema_problems"]

#: What to do about each kind of schema error, in one short phrase.
COMMON_FIXES: Mapping[str, str] = {
    "required": "add the missing key",
    "additionalProperties": "remove the key or correct its spelling",
    "enum": "use one of the listed values",
    "const": "use the value shown",
    "type": "give a value of the type shown",
    "exclusiveMinimum": "give a larger number",
    "minimum": "give a larger number",
    "maximum": "give a smaller number",
    "minItems": "add the missing entries",
    "maxItems": "remove the extra entries",
    "minLength": "give a non-empty text",
    "maxLength": "give a shorter text",
    "pattern": "follow the pattern shown",
    "uniqueItems": "remove the repeated entries",
}


def json_path(parts: Iterable[Any]) -> str:
    """A JSON path such as ``$.fields[2].blocks`` from jsonschema's path parts.

    >>> json_path(["fields", 2, "blocks"])
    '$.fields[2].blocks'
    """
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def read_json(
    path: str | Path,
    *,
    what: str,
    error: type[Exception],
    shown: str | None = None,
    parse_float: Callable[[str], Any] | None = None,
    hint: str = "",
) -> Any:
    """Read and decode a JSON file (UTF-8, with or without a byte-order mark).

    Raises ``error`` with a message ``"{what} {shown}: ..."`` when the file
    is missing, cannot be read or is not JSON (naming the line and column);
    ``hint`` is added to the last, e.g. what a valid document looks like.
    """
    shown = str(path) if shown is None else shown
    try:
        text = Path(path).read_text("utf-8-sig")
    except FileNotFoundError:
        raise error(f"{what} {shown}: no such file (fix: check the path)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {shown}: cannot be read: {exc}") from None
    try:
        return json.loads(text, parse_float=parse_float)
    except json.JSONDecodeError as exc:
        raise error(
            f"{what} {shown}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            + (f" ({hint})" if hint else "")
        ) from None
    except RecursionError:
        # Python's JSON decoder recurses once per nesting level.
        raise error(
            f"{what} {shown}: nested too deeply (lists or objects inside each "
            "other thousands of levels deep)" + (f" ({hint})" if hint else "")
        ) from None


@functools.cache
def packaged_validator(resource: str) -> jsonschema.Draft202012Validator:
    """The validator of a schema shipped in the package (``data/....schema.json``)."""
    import jsonschema  # about 90 ms: imported when a document is first checked

    text = resources.files("ljun").joinpath(resource).read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def schema_problems(
    validator: jsonschema.protocols.Validator,
    document: Any,
    *,
    default_fix: str,
    fixes: Mapping[str, str] = COMMON_FIXES,
    where: Callable[[jsonschema.ValidationError], str] | None = None,
    message: Callable[[jsonschema.ValidationError], str] | None = None,
) -> list[str]:
    """Every schema error of ``document`` as ``"at PATH: MESSAGE (fix: FIX)"``.

    ``where`` and ``message`` may replace the JSON path and jsonschema's
    message for errors a document type can explain better.
    """
    errors = sorted(
        validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [
        f"at {where(e) if where else json_path(e.absolute_path)}: "
        f"{message(e) if message else e.message} "
        f"(fix: {fixes.get(str(e.validator), default_fix)})"
        for e in errors
    ]
