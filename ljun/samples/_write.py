"""Writing a sample set to disk as a scanning office would have it.

Layout of ``out_dir`` (envelope ``k`` is ``amplop-00k``)::

    amplop-001.tif          one multi-page TIFF per envelope (8-bit LZW or 1-bit Group 4)
    amplop-002.pdf          ... or a PDF of image pages
    amplop-003/001.png      ... or single-page PNG/JPEG files in a folder
    truth.jsonl             one result record per scanned page (ARCHITECTURE.md §3)
    paketA.json paketB.json susulan.json    answer keys
    daftar_hadir/amplop-001.csv             attendance list per envelope
    praktik.csv             practical scores of every participant
    samples.json            how the set was made (command options, files)

Each envelope is made by one task (one worker process when ``workers > 1``)
that generates its pages and writes its files, so memory stays flat: pages
are appended to the TIFF/PDF one at a time.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, TiffImagePlugin

from .. import __version__
from .._io import atomic_write
from ..numbers import format_score
from ..template import Template
from ._errors import SamplesError
from ._generate import (
    GeneratedSheet,
    answer_items,
    check_options,
    check_scan_color,
    envelope_pages,
)
from ._levels import Level, get_level
from ._truth import KEY_FILE_NAMES, Envelope, answer_keys, format_nomor_peserta, plan_envelopes

__all__ = ["FORMATS", "SampleSet", "make_samples", "TRUTH_FILE", "PRAKTIK_FILE", "MANIFEST_FILE"]

#: Output formats: one per envelope, or ``mixed`` (see :func:`envelope_format`).
FORMATS: tuple[str, ...] = ("tiff", "pdf", "png", "jpeg", "mixed")
#: Formats of envelopes 0, 1, 2, 3, ... under ``mixed`` (cycled): PDF, TIFF,
#: a folder of single images, TIFF.  With ``bits="mixed"`` (cycle 1, 1, 1, 8)
#: that is a 1-bit PDF, a 1-bit TIFF, 1-bit PNGs and a grey TIFF: every kind
#: of file a scanning office sends, the bulky grey TIFF last.
MIXED_FORMATS: tuple[str, ...] = ("pdf", "tiff", "images", "tiff")

#: Creation date written into generated PDFs: fixed, so output depends only on the seed.
PDF_DATE = time.gmtime(datetime.datetime(2012, 4, 16, tzinfo=datetime.UTC).timestamp())

TRUTH_FILE = "truth.jsonl"
PRAKTIK_FILE = "praktik.csv"
MANIFEST_FILE = "samples.json"
ATTENDANCE_DIR = "daftar_hadir"
ATTENDANCE_COLUMNS = (
    "no",
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "paket",
    "ruang",
    "hadir",
)
PRAKTIK_COLUMNS = ("nomor_peserta", "nama", "kode_kompetensi", "nilai_praktik")

# Quality of JPEG files and of the JPEG inside PDF pages of grey scans
# (a scanner's "high quality" setting).
JPEG_FILE_QUALITY = 90
# Seconds between checks for finished envelopes while workers run.
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class SampleSet:
    """What :func:`make_samples` wrote.

    ``scan_files`` are relative to ``out_dir``, in set order; ``pages`` is
    the number of scanned pages (sheets plus special pages).
    """

    out_dir: Path
    sheets: int
    pages: int
    envelopes: int
    scan_files: tuple[str, ...]
    other_files: tuple[str, ...] = field(default=())


def envelope_format(envelope: int, fmt: str) -> str:
    """The file format of envelope ``envelope``: ``tiff``, ``pdf``, ``png``, ``jpeg`` or ``images``.

    ``images`` (only under ``mixed``) is a folder of single pages: PNG for
    1-bit scans, PNG and JPEG alternating for grey ones.

    >>> [envelope_format(k, "mixed") for k in range(5)]
    ['pdf', 'tiff', 'images', 'tiff', 'pdf']
    """
    return MIXED_FORMATS[envelope % len(MIXED_FORMATS)] if fmt == "mixed" else fmt


def make_samples(
    template: Template,
    out_dir: str | os.PathLike[str],
    *,
    count: int,
    seed: int,
    level: str | Level,
    dpi: int | str = 200,
    bits: int | str = 8,
    fmt: str = "tiff",
    pages_per_file: int = 0,
    workers: int = 1,
    include_special_pages: bool | None = None,
    overwrite: bool = False,
    on_page: Callable[[int], None] | None = None,
    scan_color: str = "gray",
) -> SampleSet:
    """Generate a sample set and write it to ``out_dir``.

    Parameters
    ----------
    template, count, seed, level, dpi, bits, include_special_pages
        As :func:`ljun.samples.generate_sheets`; the pages are the same.
    fmt : {"tiff", "pdf", "png", "jpeg", "mixed"}
        File format of the scans (``mixed``: PDF, TIFF, PNG/JPEG folder,
        TIFF, cycled over envelopes).
    pages_per_file : int
        Split an envelope's TIFF/PDF batch into files of at most this many
        pages (``amplop-001_1.tif``, ...); 0 keeps one file per envelope.
    workers : int
        Processes making envelopes in parallel (1: in this process).
    overwrite : bool
        Allow a non-empty ``out_dir``; files of a previous set listed in its
        ``samples.json`` are removed first.
    on_page : callable, optional
        Called with the number of pages just written (for a progress bar).
    scan_color : {"gray", "rgb", "dropout"}
        As :func:`ljun.samples.generate_sheets` (8-bit pages only).

    Raises
    ------
    SamplesError
        For bad options or a non-empty ``out_dir`` without ``overwrite``.
    """
    lvl = get_level(level)
    check_options(count, seed, dpi, bits)
    check_scan_color(scan_color)
    if fmt not in FORMATS:
        raise SamplesError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if (
        isinstance(pages_per_file, bool)
        or not isinstance(pages_per_file, int)
        or pages_per_file < 0
    ):
        raise SamplesError(
            f"pages per file must be 0 (one file per envelope) or more, not {pages_per_file!r}"
        )
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SamplesError(f"workers must be 1 or more, not {workers!r}")
    out = Path(out_dir)
    _prepare(out, overwrite)
    if include_special_pages is None:
        include_special_pages = lvl.blank_page_probability > 0 or lvl.other_page_probability > 0
    envelopes = plan_envelopes(seed, count, lvl, special_pages=include_special_pages)
    task = dict(
        template=template,
        out_dir=str(out),
        seed=seed,
        level=lvl,
        dpi=dpi,
        bits=bits,
        fmt=fmt,
        pages_per_file=pages_per_file,
        scan_color=scan_color,
    )
    results = _run(envelopes, task, workers, on_page)

    truth_lines = [line for envelope_result in results for line in envelope_result["truth"]]
    scan_files = tuple(f for envelope_result in results for f in envelope_result["files"])
    with atomic_write(out / TRUTH_FILE, "w", encoding="utf-8", newline="\n") as handle:
        for line in truth_lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    other = [TRUTH_FILE]
    for paket, key in answer_keys(seed, answer_items(template)).items():
        name = KEY_FILE_NAMES[paket]
        with atomic_write(out / name, "w", encoding="utf-8", newline="\n") as handle:
            json.dump(key, handle, indent=1)
            handle.write("\n")
        other.append(name)
    other += _write_attendance(out, envelopes)
    other.append(_write_praktik(out, envelopes))
    sample_set = SampleSet(
        out_dir=out,
        sheets=sum(e.n_sheets for e in envelopes),
        pages=len(truth_lines),
        envelopes=len(envelopes),
        scan_files=scan_files,
        other_files=tuple(other),
    )
    manifest = {
        "generator": f"ljun {__version__}",
        "template": template.id,
        "count": count,
        "seed": seed,
        "level": lvl.name,
        "dpi": dpi,
        "bits": bits,
        "scan_color": scan_color,
        "format": fmt,
        "pages_per_file": pages_per_file,
        "include_special_pages": include_special_pages,
        "sheets": sample_set.sheets,
        "pages": sample_set.pages,
        "envelopes": sample_set.envelopes,
        "files": list(scan_files) + other + [MANIFEST_FILE],
    }
    with atomic_write(out / MANIFEST_FILE, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(manifest, handle, indent=1)
        handle.write("\n")
    return SampleSet(**{**sample_set.__dict__, "other_files": tuple(other) + (MANIFEST_FILE,)})


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SamplesError(f"{out}: exists and is not a folder; give a folder for the sample set")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SamplesError(
                f"{out}: the folder is not empty; choose an empty or new folder, or allow overwriting (--force)"
            )
        # Remove what a previous run wrote (and only that), so no stale scan stays.
        manifest = out / MANIFEST_FILE
        if manifest.is_file():
            try:
                previous = json.loads(manifest.read_text("utf-8")).get("files", [])
            except (OSError, ValueError):
                previous = []
            for name in previous:
                path = (out / name).resolve()
                if out.resolve() in path.parents and path.is_file():
                    path.unlink()
            for sub in sorted(
                {(out / n).parent for n in previous}, key=lambda p: len(p.parts), reverse=True
            ):
                if sub != out and sub.is_dir() and not any(sub.iterdir()):
                    sub.rmdir()
    out.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- workers

_PROGRESS: multiprocessing.queues.Queue[int] | None = None


def _init_worker(progress: multiprocessing.queues.Queue[int]) -> None:
    global _PROGRESS
    _PROGRESS = progress


def _run(
    envelopes: list[Envelope], task: dict, workers: int, on_page: Callable[[int], None] | None
) -> list[dict]:
    if workers == 1 or len(envelopes) <= 1:
        return [_write_envelope(e, task, on_page) for e in envelopes]
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    results: dict[int, dict] = {}
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(progress,)
    ) as pool:
        futures: dict[Future, int] = {
            pool.submit(_write_envelope, e, task): e.index for e in envelopes
        }
        pending = set(futures)
        reported: dict[int, int] = {}
        finished: set[int] = set()
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            _drain(progress, on_page, reported, finished)
            for future in done:
                index = futures[future]
                results[index] = future.result()
                # Pages whose progress message has not arrived yet count now;
                # messages arriving later for this envelope are ignored.
                finished.add(index)
                late = len(results[index]["truth"]) - reported.get(index, 0)
                if on_page is not None and late > 0:
                    on_page(late)
    return [results[e.index] for e in envelopes]


def _drain(
    progress: multiprocessing.queues.Queue[int],
    on_page: Callable[[int], None] | None,
    reported: dict[int, int],
    finished: set[int],
) -> None:
    while True:
        try:
            envelope = progress.get_nowait()
        except queue.Empty:
            return
        if envelope in finished:
            continue
        reported[envelope] = reported.get(envelope, 0) + 1
        if on_page is not None:
            on_page(1)


def _report(envelope: int, on_page: Callable[[int], None] | None) -> None:
    if on_page is not None:
        on_page(1)
    elif _PROGRESS is not None:
        _PROGRESS.put(envelope)


# --------------------------------------------------------------------------- one envelope


def _write_envelope(
    envelope: Envelope, task: dict, on_page: Callable[[int], None] | None = None
) -> dict:
    """Generate one envelope's pages, write its scan files; return truth lines and file names."""
    out = Path(task["out_dir"])
    fmt = envelope_format(envelope.index, task["fmt"])
    per_file = task["pages_per_file"]
    pages = envelope_pages(
        task["template"],
        envelope,
        seed=task["seed"],
        level=task["level"],
        dpi=task["dpi"],
        bits=task["bits"],
        scan_color=task.get("scan_color", "gray"),
    )
    truth: list[dict] = []
    files: list[str] = []
    if fmt in ("tiff", "pdf"):
        suffix = ".tif" if fmt == "tiff" else ".pdf"
        writer: _BatchWriter | None = None
        part = 0
        for sheet in pages:
            if writer is None or (per_file and writer.pages == per_file):
                if writer is not None:
                    writer.close()
                part += 1
                name = f"{envelope.name}{f'_{part}' if per_file else ''}{suffix}"
                writer = _BatchWriter(out / name, fmt)
                files.append(name)
            writer.add(sheet)
            truth.append(_located(sheet, files[-1], writer.pages))
            _report(envelope.index, on_page)
        if writer is not None:
            writer.close()
    else:
        folder = out / envelope.name
        folder.mkdir(parents=True, exist_ok=True)
        for k, sheet in enumerate(pages, start=1):
            kind = fmt
            if fmt == "images":
                kind = "png" if sheet.scan["bits"] == 1 or k % 2 else "jpeg"
            name = f"{envelope.name}/{k:03d}.{'jpg' if kind == 'jpeg' else 'png'}"
            _write_single(out / name, sheet, kind)
            files.append(name)
            truth.append(_located(sheet, name, 1))
            _report(envelope.index, on_page)
    return {"truth": truth, "files": files}


def _located(sheet: GeneratedSheet, source: str, page: int) -> dict:
    return {**sheet.truth, "source": source, "page": page}


def _pil(sheet: GeneratedSheet) -> Image.Image:
    image = Image.fromarray(sheet.image)
    return image.convert("1", dither=Image.Dither.NONE) if sheet.scan["bits"] == 1 else image


class _BatchWriter:
    """A multi-page TIFF or PDF written one page at a time, renamed into place when closed."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.pages = 0
        self._tmp = path.with_name(f".{path.name}.part")
        # Held open across add() calls and closed in close(): no `with` block fits.
        self._handle = open(self._tmp, "w+b") if fmt == "tiff" else None  # noqa: SIM115
        self._tiff = (
            TiffImagePlugin.AppendingTiffWriter(self._handle, new=True) if self._handle else None
        )

    def add(self, sheet: GeneratedSheet) -> None:
        image = _pil(sheet)
        dpi = (sheet.dpi, sheet.dpi)
        if self._tiff is not None:
            compression = "group4" if image.mode == "1" else "tiff_lzw"
            image.save(self._tiff, format="TIFF", compression=compression, dpi=dpi)
            self._tiff.newFrame()
        else:
            # Page size = image size at the scan's resolution; grey pages are
            # JPEG inside the PDF, as scanners write them; 1-bit pages CCITT G4.
            options = {} if image.mode == "1" else {"quality": JPEG_FILE_QUALITY}
            # A fixed date keeps the file the same byte for byte for a given seed.
            image.save(
                self._tmp,
                format="PDF",
                resolution=float(sheet.dpi),
                append=self.pages > 0,
                creationDate=PDF_DATE,
                modDate=PDF_DATE,
                **options,
            )
        self.pages += 1

    def close(self) -> None:
        if self._tiff is not None and self._handle is not None:
            self._tiff.close()
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        os.replace(self._tmp, self.path)


def _write_single(path: Path, sheet: GeneratedSheet, kind: str) -> None:
    image = _pil(sheet)
    buffer = io.BytesIO()
    if kind == "jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_FILE_QUALITY, dpi=(sheet.dpi, sheet.dpi))
    else:
        image.save(buffer, format="PNG", dpi=(sheet.dpi, sheet.dpi), optimize=False)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


# --------------------------------------------------------------------------- lists


def _write_attendance(out: Path, envelopes: list[Envelope]) -> list[str]:
    names = []
    for envelope in envelopes:
        name = f"{ATTENDANCE_DIR}/{envelope.name}.csv"
        with atomic_write(out / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(ATTENDANCE_COLUMNS)
            for k, p in enumerate(envelope.participants, start=1):
                dob = p.tanggal_lahir
                writer.writerow(
                    [
                        k,
                        format_nomor_peserta(p.nomor_peserta),
                        p.nama,
                        f"{dob[:2]}-{dob[2:4]}-{dob[4:]}",
                        p.kode_kompetensi,
                        p.paket,
                        envelope.room,
                        "ya" if p.present else "tidak",
                    ]
                )
        names.append(name)
    return names


def _write_praktik(out: Path, envelopes: list[Envelope]) -> str:
    seen: dict[str, tuple] = {}
    for envelope in envelopes:
        for p in envelope.participants:
            # A Susulan participant is on two lists; the practical score is one.
            seen.setdefault(
                p.nomor_peserta,
                (
                    format_nomor_peserta(p.nomor_peserta),
                    p.nama,
                    p.kode_kompetensi,
                    format_score(p.nilai_praktik, comma=True),
                ),
            )
    with atomic_write(out / PRAKTIK_FILE, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PRAKTIK_COLUMNS)
        for key in sorted(seen):
            writer.writerow(seen[key])
    return PRAKTIK_FILE
