"""``ljun calibrate``: fit the reading thresholds to one scanner and paper."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from .._color import loading_weights
from .._io import atomic_write
from ..calibrate import (
    SCAN_KINDS,
    BandFit,
    SheetSample,
    Verification,
    calibration_document,
    fit_bands,
    measure_sheet,
    replay,
    verify_fit,
)
from ..calibration import Calibration, load_calibration
from ..errors import CalibrationError, LjunError
from ..load import iter_file_pages, list_scan_files
from ..read import sampling_pattern
from ..records import Page, PageFailure
from ..register import REFERENCE_DPI
from ..review.truth import (
    ReviewedSheet,
    batch_calibrations,
    reviewed_batches,
    reviewed_truth,
)
from ..template import DEFAULT_TEMPLATE, Template, load_template

__all__ = [
    "COMMANDS",
    "calibrate",
    "CalibrateError",
    "load_truth",
    "review_samples",
    "scan_pages",
    "LEFT_OUT",
    "ReviewSamples",
]


class CalibrateError(LjunError, ValueError):
    """Unusable inputs of ``ljun calibrate`` (truth file, results store, no matching pages)."""


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


def scan_pages(
    paths: Iterable[str | os.PathLike[str]], template: Template
) -> Iterator[Page | PageFailure]:
    """Every page under ``paths`` as ``ljun score`` loads it for ``template``.

    Colour pages are turned gray in the channel where the template's print
    fades (:func:`ljun._color.loading_weights`), as
    :func:`ljun.batch.read_file` does: a calibration measured on other gray
    values would not fit what ``ljun score`` reads.
    """
    weights = loading_weights(template.print_color)
    for path in list_scan_files(paths):
        yield from iter_file_pages(path, weights=weights)


# How many skipped scan files are named in the output.
_NAMED_SKIPS = 5
# How many silent errors of the check are named in the output.
_NAMED_SILENT = 10
# The check's progress: a line every tenth of the sheets, at least this many apart.
_MIN_STEP = 10


#: Why a sheet of a reviewed batch is left out, in the order printed.
LEFT_OUT: tuple[str, ...] = (
    "rejected",
    "still in review",
    "of another template",
    "in files moved or missing",
    "in files changed since scoring",
    "unreadable",
    "not registered",
)


@dataclass(frozen=True)
class ReviewSamples:
    """The measured sheets of reviewed batches, and what was left out.

    ``left_out`` counts sheets per cause of :data:`LEFT_OUT`;
    ``skipped_files`` says which scan files were not used, and why.
    """

    samples: tuple[SheetSample, ...]
    start: Calibration
    batches: tuple[int, ...]
    decided: int
    machine: int
    left_out: dict[str, int]
    skipped_files: tuple[str, ...] = ()
    note: str = ""

    def left_out_text(self) -> str:
        """``0 rejected, 2 still in review, ...``."""
        return ", ".join(f"{self.left_out.get(cause, 0)} {cause}" for cause in LEFT_OUT)


def _start_calibration(
    start_file: Path | None, labels: set[str], batch_sources: Sequence[str]
) -> tuple[Calibration, str]:
    """The calibration to start from, and a note when it is not what read the sheets.

    Without ``--calibration``: the calibration the batches were run with,
    when it is still there unchanged (its identity is what the sheets
    record); otherwise the default.
    """
    if start_file is not None:
        return load_calibration(start_file), ""
    for source in dict.fromkeys(s for s in batch_sources if s):
        try:
            candidate = load_calibration(source)
        except CalibrationError:
            continue
        if labels == {candidate.identity}:
            return candidate, ""
    default = load_calibration()
    if labels and labels != {default.identity}:
        return default, (
            f"note: the sheets were read with {', '.join(sorted(labels))}, not found as it was; "
            f"starting from {default.source} (give --calibration to choose)"
        )
    return default, ""


def review_samples(
    db_path: Path, batch_ids: Sequence[int], template: Template, start_file: Path | None
) -> ReviewSamples:
    """Measure again the sheets of the reviewed batches of ``db_path``, with their decided truth.

    Each scan is read from the path the store keeps (relative paths from the
    current folder, as ``ljun score`` was given them); a file that is gone
    or whose bytes changed since it was scored (its page hash differs) is
    skipped and counted, never used.

    Raises
    ------
    StoreError
        When the store cannot be opened (missing, not a store, newer ljun).
    CalibrateError
        When it has no reviewed batch (or not the one asked for), or no
        sheet of them can be used.
    """
    from ..batch import file_digest, page_hash
    from ..store import open_store

    with open_store(db_path, create=False) as store:
        reviewed = reviewed_batches(store.connection)
        if not reviewed:
            raise CalibrateError(
                f"results store {db_path}: no batch has a sheet resolved or rejected in review "
                f"yet; decide its flagged sheets first (`ljun review --db {db_path}`), or fit "
                "from scans with known truth (SCANS --truth truth.jsonl)"
            )
        unknown = [b for b in batch_ids if b not in reviewed]
        if unknown:
            raise CalibrateError(
                f"results store {db_path}: batch {', '.join(map(str, unknown))} has no review "
                f"decisions (reviewed batches: {', '.join(map(str, reviewed))}); give one of "
                "those to --batch, or none to use them all"
            )
        chosen = tuple(batch_ids) or tuple(reviewed)
        truth = reviewed_truth(store.connection, chosen)
        run_with = batch_calibrations(store.connection, chosen)
        digest_algorithm = store.file_digest_algorithm
    sheets = [s for s in truth.sheets if s.truth["template"] == template.id]
    labels = {s.calibration for s in sheets if s.calibration}
    start, note = _start_calibration(start_file, labels, [run_with[b] for b in chosen])
    left_out = Counter(
        {
            "rejected": truth.rejected,
            "still in review": truth.unresolved,
            "of another template": len(truth.sheets) - len(sheets),
        }
    )
    samples: list[SheetSample] = []
    decided = 0
    skipped: list[str] = []
    by_source: dict[str, list[ReviewedSheet]] = {}
    for sheet in sheets:
        by_source.setdefault(sheet.source, []).append(sheet)
    for source, mine in by_source.items():
        digest = file_digest(source, digest_algorithm) if Path(source).is_file() else ""
        if not digest:
            left_out["in files moved or missing"] += len(mine)
            skipped.append(f"{source}: not found (moved or deleted)")
            continue
        wanted = {s.page: s for s in mine if page_hash(digest, s.page) == s.page_hash}
        if len(wanted) < len(mine):
            left_out["in files changed since scoring"] += len(mine) - len(wanted)
            skipped.append(f"{source}: changed since it was scored")
        for page in scan_pages([source], template):
            if not isinstance(page, Page) or page.page not in wanted:
                continue  # a page that failed to load stays in wanted: unreadable
            sheet = wanted.pop(page.page)
            sample = measure_sheet(page, sheet.truth, template, start)
            _measured(len(samples) + left_out["not registered"] + 1)
            if sample is None:
                left_out["not registered"] += 1
                continue
            samples.append(sample)
            decided += sheet.decided
        left_out["unreadable"] += len(wanted)
    found = ReviewSamples(
        samples=tuple(samples),
        start=start,
        batches=chosen,
        decided=decided,
        machine=len(samples) - decided,
        left_out=dict(left_out),
        skipped_files=tuple(skipped),
        note=note,
    )
    if not samples:
        others = sorted({s.truth["template"] for s in truth.sheets} - {template.id})
        fix = (
            f"give --template {others[0]} (the batches were read with it)"
            if others and not sheets
            else "run ljun calibrate from the folder `ljun score` ran in, with the scans "
            "where and as they were scored"
        )
        raise CalibrateError(
            f"results store {db_path}: no sheet of batch {', '.join(map(str, chosen))} can be "
            f"used ({found.left_out_text()}); {fix}"
        )
    return found


def _fit_and_write(
    samples: Sequence[SheetSample],
    *,
    start: Calibration,
    template: Template,
    kinds: Sequence[str],
    out: Path,
    description: str,
    derived_from: str,
) -> None:
    """The fitting both sources of truth share: fit, print before/after, check the
    fit with the whole pipeline (:func:`ljun.calibrate.verify_fit`), print what it
    measured, write ``out``."""
    geometry = sampling_pattern(template, REFERENCE_DPI).geometry
    fits = fit_bands(samples, start, template, geometry, kinds=kinds or SCAN_KINDS)
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
    progress = _Progress(samples, fits, start)
    verification = verify_fit(
        samples,
        start,
        fits,
        template,
        geometry,
        read_pages=lambda wanted: _pages_of(wanted, template),
        on_sheet=progress.step,
    )
    _print_verification(verification)
    document = calibration_document(
        verification.calibration,
        description=description,
        derived_from=derived_from,
        verification=verification,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "w") as handle:
        handle.write(json.dumps(document, indent=2) + "\n")
    click.echo(f"wrote {out}")


# Progress on stderr: a line every this many sheets measured.
_MEASURED_EVERY = 50


def _measured(count: int) -> None:
    """Progress of the measuring pass on stderr."""
    if count % _MEASURED_EVERY == 0:
        click.echo(f"  measured {count} sheets", err=True)


class _Progress:
    """Progress of the check on stderr: a line per tenth of the sheets read again."""

    def __init__(self, samples: Sequence[SheetSample], fits: Sequence[BandFit], start: Calibration):
        self.total = Counter(s.kind for s in samples)
        self.done: Counter[str] = Counter()
        changed = [f.kind for f in fits if f.fitted and f.bands != getattr(start.read, f.kind)]
        if changed:
            click.echo(
                "checking the fit with ljun score's reading: "
                + ", ".join(f"{self.total[k]} {k} sheets" for k in changed)
                + " read again",
                err=True,
            )

    def step(self, kind: str) -> None:
        self.done[kind] += 1
        done, total = self.done[kind] % self.total[kind] or self.total[kind], self.total[kind]
        if done == total or done % max(total // 10, _MIN_STEP) == 0:
            click.echo(f"  {kind}: {done}/{total}", err=True)


def _pages_of(wanted: Sequence[SheetSample], template: Template) -> Iterator[tuple[int, Page]]:
    """The pages of ``wanted`` loaded again, as ``(index into wanted, page)``."""
    where: dict[tuple[Path, int], int] = {}
    files: dict[Path, str] = {}
    for index, sample in enumerate(wanted):
        assert sample.reading is not None  # measure_sheet keeps it
        path = Path(sample.reading.source)
        where[(path.resolve(), sample.reading.page)] = index
        files.setdefault(path.resolve(), sample.reading.source)
    for source in files.values():
        for page in scan_pages([source], template):
            if isinstance(page, Page):
                found = where.get((Path(page.source).resolve(), page.page))
                if found is not None:
                    yield found, page


def _print_verification(verification: Verification) -> None:
    """The check's table: measured by the whole pipeline, next to the replay's prediction."""
    click.echo(
        "checked with ljun score's reading (closer look, lone marks, identity, barcode, "
        "scoring) on the same sheets; replay = the band replay above:"
    )
    click.echo(
        f"{'scan':<9} {'sheets':>6}  {'silent':>6} {'review':>7} {'needless':>8}  "
        f"{'replay: silent':>14} {'review':>7} {'needless':>8}"
    )
    for rows in (verification.before, verification.after):
        totals = Verification.total(rows)
        label = rows[0].label if rows else ""
        for kind, measured, predicted, name in [
            *((r.kind, r.measured, r.predicted, r.label) for r in rows),
            ("all", *totals, "before" if label == "before" else "checked"),
        ]:
            click.echo(
                f"{kind:<9} {measured.sheets:>6}  {measured.silent:>6} "
                f"{measured.review_rate:>7.1%} {measured.needless_share:>8.1%}  "
                f"{predicted.silent:>14} {predicted.review_rate:>7.1%} "
                f"{predicted.needless_share:>8.1%}  {name}"
            )
    for line in verification.decisions:
        click.echo(f"decided: {line}")
    silent = [c for c in verification.checks if c.silent]
    unexplained = {id(c) for c in verification.unexplained}
    for check in silent[:_NAMED_SILENT]:
        if id(check) not in unexplained:
            why = "predicted by the replay"
        elif check.bands_decide:
            why = "NOT predicted by the replay; the bands of this kind were kept"
        else:
            why = "NOT predicted by the replay; no bubble band decides it"
        click.echo(f"silent error: {check.describe()} ({why})")
    if len(silent) > _NAMED_SILENT:
        click.echo(f"  ... and {len(silent) - _NAMED_SILENT} more silent errors")


def _check_sources(
    scans: tuple[Path, ...],
    truth_files: tuple[Path, ...],
    db: Path | None,
    from_review: bool,
    batch_ids: tuple[int, ...],
) -> None:
    """One source of truth: SCANS with --truth, or --db with --from-review."""
    if db is not None and truth_files:
        raise click.UsageError(
            f"--db {db} and --truth {truth_files[0]} are two sources of truth: give --db "
            "STORE --from-review (the review decisions) or SCANS --truth FILE, not both"
        )
    if from_review and db is None:
        raise click.UsageError(
            "--from-review needs --db STORE: the results store that holds the review "
            "decisions (for example --db ljun.sqlite)"
        )
    if db is not None and not from_review:
        raise click.UsageError(
            f"--db {db} is only read with --from-review (fit to its review decisions); add it"
        )
    if from_review and scans:
        raise click.UsageError(
            f"with --from-review the scans are read from the paths stored in {db}; "
            f"give no SCANS ({scans[0]})"
        )
    if batch_ids and not from_review:
        raise click.UsageError("--batch chooses reviewed batches: use it with --db --from-review")
    if not from_review and not truth_files:
        raise click.UsageError(
            "give SCANS with --truth truth.jsonl, or --db STORE --from-review (see --help)"
        )
    if not from_review and not scans:
        raise click.UsageError(f"give the SCANS that --truth {truth_files[0]} describes")


@click.command()
@click.argument("scans", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--truth",
    "truth_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="truth.jsonl of the scans (result records, source relative to its folder). Repeatable.",
)
@click.option(
    "--db",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results store whose review decisions give the truth (with --from-review).",
)
@click.option(
    "--from-review",
    is_flag=True,
    help="Fit to the reviewed batches of --db instead of a truth file (see above).",
)
@click.option(
    "--batch",
    "batch_ids",
    multiple=True,
    type=int,
    help="With --from-review: only this batch id (repeatable). Default: every reviewed batch.",
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
    help="Calibration to start from; what is not fitted is kept. Default: "
    "calibration/default.json (with --from-review: the one the batches were read with, "
    "if unchanged).",
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
    db: Path | None,
    from_review: bool,
    batch_ids: tuple[int, ...],
    out: Path,
    start_file: Path | None,
    kinds: tuple[str, ...],
    template_name: str,
    description: str | None,
) -> int:
    """Fit the bubble-reading thresholds to scans whose right reading is known.

    The truth comes from one of two places:

    \b
    - SCANS --truth FILE: scans of one scanner and paper with their right
      readings (generated with `ljun samples make`, which writes truth.jsonl);
    - --db STORE --from-review: the office's own batches, checked by its
      operators in `ljun review`.

    Every page is registered and measured, and for each kind of scan (gray,
    1-bit threshold, 1-bit dithered) the band edges of the mark evidence are
    chosen that make no silent error on these sheets (with a safety margin)
    and send the fewest to review, by replaying the bubble rules.  The fit
    is then checked: every sheet is read and scored again as `ljun score`
    does (closer look, lone marks, identity, barcode) with the fitted
    calibration, and the silent errors, sheets to review and needless
    reviews it measured are printed (before and after, next to the
    replay's) and recorded in the --out file.  A fitted kind on which this check
    finds a silent error the replay did not is tightened (its unsure band
    widened, up to 3 steps of 0.02) or given back its starting bands; when
    neither helps, nothing is written and the sheets are named (exit 2).
    Use the result with `ljun score --calibration FILE`.

    With --from-review, every reading batch of the store with a sheet
    resolved or rejected in review is used (or those given by --batch):
    a sheet an operator resolved counts with the answers and identity the
    operator decided; a sheet that was NOT sent to review is taken as read
    right (the machine was sure of every item: a silent error on it cannot
    be seen here).  Rejected sheets and sheets still in review are left out.
    The scans are read again from the paths the store keeps (run it from the
    folder `ljun score` ran in); a file moved, deleted or changed since it
    was scored is skipped and counted, never used.

    \b
    Examples:
      ljun samples make --count 200 --seed 11 --level moderate --dpi mixed \\
                        --bits mixed --format tiff --out train/
      ljun calibrate train/ --truth train/truth.jsonl --out calibration/office.json
      ljun calibrate --db ljun.sqlite --from-review --out calibration/office.json
    """
    _check_sources(scans, truth_files, db, from_review, batch_ids)
    template = load_template(template_name)
    if from_review:
        assert db is not None  # _check_sources
        found = review_samples(db, batch_ids, template, start_file)
        if found.note:
            click.echo(found.note)
        batches = ", ".join(map(str, found.batches))
        click.echo(
            f"{len(found.samples)} sheets measured from batch {batches} of {db}: "
            f"{found.decided} decided by operators, {found.machine} not sent to review "
            "(taken as right)"
        )
        click.echo(f"left out: {found.left_out_text()}")
        for line in found.skipped_files[:_NAMED_SKIPS]:
            click.echo(f"  skipped {line}")
        if len(found.skipped_files) > _NAMED_SKIPS:
            click.echo(f"  ... and {len(found.skipped_files) - _NAMED_SKIPS} more files")
        _fit_and_write(
            found.samples,
            start=found.start,
            template=template,
            kinds=kinds,
            out=out,
            description=description
            or f"Fitted by ljun calibrate on {len(found.samples)} reviewed sheets.",
            derived_from=(
                f"ljun calibrate --from-review from {found.start.source}: review decisions "
                f"of batch {batches} in {db} ({found.decided} sheets decided by operators, "
                f"{found.machine} not sent to review)"
            ),
        )
        return 0
    start = load_calibration(start_file)
    truth = load_truth(truth_files)
    samples: list[SheetSample] = []
    unmatched = failed = unregistered = 0
    for page in scan_pages(scans, template):
        if not isinstance(page, Page):
            failed += 1
            continue
        record = truth.get((Path(page.source).resolve(), page.page))
        if record is None:
            unmatched += 1
            continue
        sample = measure_sheet(page, record, template, start)
        _measured(len(samples) + unregistered + 1)
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
    click.echo(
        f"{len(samples)} sheets measured; {unmatched} pages without truth, "
        f"{failed} unreadable, {unregistered} not registered (left out)"
    )
    _fit_and_write(
        samples,
        start=start,
        template=template,
        kinds=kinds,
        out=out,
        description=description or f"Fitted by ljun calibrate on {len(samples)} sheets.",
        derived_from=(
            f"ljun calibrate from {start.source}: {', '.join(map(str, scans))} with truth "
            f"{', '.join(map(str, truth_files))}"
        ),
    )
    return 0


COMMANDS = (calibrate,)
