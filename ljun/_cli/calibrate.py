"""``ljun calibrate``: fit the reading thresholds to one scanner and paper."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._io import atomic_write
from ..calibrate import (
    SCAN_KINDS,
    calibration_document,
    fit_bands,
    fitted_calibration,
    measure_sheet,
    replay,
)
from ..calibration import load_calibration
from ..errors import LjunError
from ..load import iter_pages
from ..read import sampling_pattern
from ..records import Page
from ..register import REFERENCE_DPI
from ..template import DEFAULT_TEMPLATE, load_template

__all__ = ["COMMANDS", "calibrate", "CalibrateError", "load_truth"]


class CalibrateError(LjunError, ValueError):
    """Unusable inputs of ``ljun calibrate`` (truth file, no matching pages)."""


def load_truth(paths: tuple[Path, ...]) -> dict[tuple[Path, int], dict]:
    """Truth records by ``(resolved scan path, page)``.

    Each truth file is JSON Lines of result records (ARCHITECTURE.md §3), as
    ``ljun samples make`` writes ``truth.jsonl``; ``source`` is relative to
    the truth file's folder (or absolute).  Records of pages that are not
    student sheets (no ``answers``) are left out.
    """
    records: dict[tuple[Path, int], dict] = {}
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CalibrateError(
                f"truth file {path}: cannot be read: {exc.strerror or exc}"
            ) from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                source, page = record["source"], int(record["page"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise CalibrateError(
                    f"truth file {path}, line {number}: not a result record with "
                    "'source' and 'page'; give the truth.jsonl that came with the scans"
                ) from None
            if not record.get("answers"):
                continue
            records[((path.parent / source).resolve(), page)] = record
    return records


@click.command()
@click.argument("scans", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--truth",
    "truth_files",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="truth.jsonl of the scans (result records, source relative to its folder). Repeatable.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Calibration JSON to write (for example calibration/NAME.json).",
)
@click.option(
    "--calibration",
    "start_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Calibration to start from; what is not fitted is kept. "
    "Default: calibration/default.json.",
)
@click.option(
    "--fit",
    "kinds",
    multiple=True,
    type=click.Choice(SCAN_KINDS),
    help="Kinds of scan whose bands are fitted (repeatable). Default: all with enough sheets.",
)
@click.option(
    "--template",
    "template_name",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="Template of the sheets: a template JSON file or a bundled template id.",
)
@click.option("--description", default=None, help="Free text stored in the calibration file.")
def calibrate(
    scans: tuple[Path, ...],
    truth_files: tuple[Path, ...],
    out: Path,
    start_file: Path | None,
    kinds: tuple[str, ...],
    template_name: str,
    description: str | None,
) -> int:
    """Fit the bubble-reading thresholds to scans whose right reading is known.

    SCANS are files and folders of one scanner and paper (generated with
    `ljun samples make`, or a batch whose readings were checked); --truth
    gives their right readings.  Every page is registered and measured, and
    for each kind of scan (gray, 1-bit threshold, 1-bit dithered) the band
    edges of the mark evidence are chosen that make no silent error on
    these sheets (with a safety margin) and send the fewest to review.  The
    expected silent errors and review rates before and after are printed;
    use the result with `ljun score --calibration FILE`.

    Fitting from review decisions in the results store (--db --from-review)
    is not available yet.

    \b
    Example:
      ljun samples make --count 200 --seed 11 --level moderate --dpi mixed \\
                        --bits mixed --format tiff --out train/
      ljun calibrate train/ --truth train/truth.jsonl --out calibration/office.json
    """
    template = load_template(template_name)
    start = load_calibration(start_file)
    truth = load_truth(truth_files)
    geometry = sampling_pattern(template, REFERENCE_DPI).geometry
    samples = []
    unmatched = failed = unregistered = 0
    for page in iter_pages(scans):
        if not isinstance(page, Page):
            failed += 1
            continue
        record = truth.get((Path(page.source).resolve(), page.page))
        if record is None:
            unmatched += 1
            continue
        sample = measure_sheet(page, record, template, start)
        if sample is None:
            unregistered += 1
        else:
            samples.append(sample)
    if not samples:
        raise CalibrateError(
            f"no page of {', '.join(map(str, scans))} is a student sheet in "
            f"{', '.join(map(str, truth_files))} ({unmatched} pages without truth, "
            f"{failed} unreadable, {unregistered} not registered); give the truth.jsonl "
            "that came with these scans"
        )
    fits = fit_bands(samples, start, template, geometry, kinds=kinds or SCAN_KINDS)
    fitted = fitted_calibration(start, fits)
    click.echo(
        f"{len(samples)} sheets measured; {unmatched} pages without truth, "
        f"{failed} unreadable, {unregistered} not registered (left out)"
    )
    click.echo(
        f"{'scan':<9} {'sheets':>6}  {'blank_sure_max':>14} {'mark_min':>8} "
        f"{'marked_sure_min':>15}  {'silent sheets':>13} {'silent items':>12} {'review':>7}"
    )
    for fit in fits:
        mine = [s for s in samples if s.kind == fit.kind]
        before = replay(mine, start, template, geometry)
        for label, bands, result in (
            ("before", getattr(start.read, fit.kind), before),
            ("fitted" if fit.fitted else "kept", fit.bands, fit.result),
        ):
            share = result.review / max(fit.sheets, 1)
            click.echo(
                f"{fit.kind:<9} {fit.sheets:>6}  {bands.blank_sure_max:>14.3f} "
                f"{bands.mark_min:>8.3f} {bands.marked_sure_min:>15.3f}  "
                f"{result.silent_sheets:>13} {result.silent_items:>12} {share:>7.1%}  {label}"
            )
    document = calibration_document(
        fitted,
        description=description or f"Fitted by ljun calibrate on {len(samples)} sheets.",
        derived_from=(
            f"ljun calibrate from {start.source}: {', '.join(map(str, scans))} with truth "
            f"{', '.join(map(str, truth_files))}"
        ),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "w") as handle:
        handle.write(json.dumps(document, indent=2) + "\n")
    click.echo(f"wrote {out}")
    return 0


COMMANDS = (calibrate,)
