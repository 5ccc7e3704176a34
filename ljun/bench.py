"""``ljun bench``: how fast ``ljun score`` is on this machine, against the decode floor.

Everything is measured in one run on the same files, so the figures mean
something on a shared, noisy machine (ARCHITECTURE.md §4):

* **floor** — the fastest decode of the same pages available to ljun
  (tifffile for TIFF; the faster of OpenCV and Pillow for PNG/JPEG; PDFium's
  decode of the embedded image for PDF), CPU ms per page;
* **stages** — median CPU ms per sheet of load, hash, register, read,
  decode, score, store and export, measured page by page in this process;
* **end to end** — CPU ms per sheet of the real batch
  (:func:`ljun.batch.run_batch` plus the JSONL export, one worker) in a
  fresh process, per format; ``beyond`` = end to end − floor (target
  ≤ :data:`TARGET_BEYOND_FLOOR_MS`), ``ratio`` = end to end ÷ floor, and
  sheets/s per core = 1000 ÷ end to end;
* **scaling** — wall seconds of the whole batch on one worker and on all
  cores, and their ratio;
* **peak RSS** of the one-worker batch process;
* **accuracy** when the truth is known (``truth.jsonl`` of
  ``ljun samples make``): silent errors (a sheet read wrong and not sent to
  review) and the review rate.

CPU times (``time.process_time``) are used wherever one process does the
work, so other processes on the machine slow the figures down less than wall
time would; every timed run is repeated and the best kept.  Start-up (template
check, blank-form render, sampling pattern) is timed once per process and
reported apart.

Scans come from files and folders, or are generated
(:func:`generate_scans`: one set of sheets written in every format asked
for).  With neither, the bundled ``samples/scans`` are used (or, in an
installed copy without them, a small generated set).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import LjunError

__all__ = [
    "BenchError",
    "FORMATS",
    "MODES",
    "TARGET_BEYOND_FLOOR_MS",
    "TARGET_SHEETS_PER_S_PER_CORE",
    "TARGET_RSS_MB",
    "BUNDLED_SAMPLES",
    "GeneratedScans",
    "generate_scans",
    "scan_format",
    "run_bench",
    "format_report",
]

#: ARCHITECTURE.md §4: CPU ms per sheet beyond decoding, one worker.
TARGET_BEYOND_FLOOR_MS = 10.0
#: ARCHITECTURE.md §4: sheets/s per core where decoding is cheap.
TARGET_SHEETS_PER_S_PER_CORE = 50.0
#: ARCHITECTURE.md §4: peak RSS of a 10,000-page batch.
TARGET_RSS_MB = 300.0

#: Formats ``--generate`` can write: gray TIFF uncompressed / LZW / Deflate,
#: 1-bit Group 4 TIFF, JPEG and PNG files, and PDF (JPEG pages for gray,
#: CCITT G4 for 1-bit, as scanners write them).
FORMATS: tuple[str, ...] = ("tif-none", "tif-lzw", "tif-deflate", "tif-g4", "jpeg", "png", "pdf")
#: Scan modes: 8-bit gray or 1-bit black and white.
MODES: tuple[str, ...] = ("gray", "1bit")
#: Formats written when none is asked for, per mode.
DEFAULT_FORMATS: dict[str, tuple[str, ...]] = {
    "gray": ("tif-none", "tif-lzw", "tif-deflate", "jpeg", "pdf"),
    "1bit": ("tif-g4", "png", "pdf"),
}
_GRAY_ONLY = {"tif-none", "tif-lzw", "tif-deflate", "jpeg"}
_BILEVEL_ONLY = {"tif-g4"}

#: Sheets per generated TIFF/PDF: one envelope (a room holds at most 20).
SHEETS_PER_FILE = 20
#: JPEG quality of generated JPEG files and JPEG pages in PDFs (a scanner's
#: "high quality" setting, as ``ljun samples make`` writes them).
JPEG_QUALITY = 90

#: The bundled sample scans of a source checkout.
BUNDLED_SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "scans"
#: Sheets generated when neither scans nor bundled samples are there.
FALLBACK_SHEETS = 20

_TIFF_COMPRESSION_NAMES = {
    1: "tif-none",
    3: "tif-g3",
    4: "tif-g4",
    5: "tif-lzw",
    7: "tif-jpeg",
    8: "tif-deflate",
    32773: "tif-packbits",
    32946: "tif-deflate",
}
_IDENTITY_KEYS = ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi", "paket", "barcode")
_STAGES = ("load", "hash", "register", "read", "decode", "score", "store", "export")
_MS = 1000.0


class BenchError(LjunError, ValueError):
    """The benchmark cannot run (bad options, no scans)."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class GeneratedScans:
    """What :func:`generate_scans` wrote: scan files, ``truth.jsonl``, answer keys."""

    folder: Path
    files: tuple[Path, ...]
    truth: Path
    keys: tuple[Path, ...]
    sheets: int


def generate_scans(
    out_dir: str | os.PathLike[str],
    *,
    count: int,
    level: str = "moderate",
    dpi: int = 200,
    mode: str = "gray",
    formats: Sequence[str] = (),
    seed: int = 1717,
) -> GeneratedScans:
    """Generate ``count`` sheets and write each in every format of ``formats``.

    Parameters
    ----------
    out_dir : path
        An empty or new folder; ``<format>/`` holds each format's files.
    count : int
        Sheets (students' sheets only: no blank or foreign pages).
    level, dpi, seed
        As :func:`ljun.samples.generate_sheets`.
    mode : {"gray", "1bit"}
    formats : sequence of str
        Members of :data:`FORMATS`; default :data:`DEFAULT_FORMATS` of the mode.

    Returns
    -------
    GeneratedScans
        ``truth`` has one result record per page, ``source`` relative to
        ``out_dir``.
    """
    from PIL import Image

    from .samples import KEY_FILE_NAMES, answer_keys, generate_sheets
    from .template import load_template

    if mode not in MODES:
        raise BenchError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    formats = tuple(formats) or DEFAULT_FORMATS[mode]
    for fmt in formats:
        if fmt not in FORMATS:
            raise BenchError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if (mode == "1bit" and fmt in _GRAY_ONLY) or (mode == "gray" and fmt in _BILEVEL_ONLY):
            other = "gray" if mode == "1bit" else "1bit"
            raise BenchError(f"format {fmt} does not hold {mode} scans; use --mode {other}")
    if count < 1:
        raise BenchError(f"--generate needs at least 1 sheet, not {count}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers = {fmt: _FormatWriter(out, fmt) for fmt in formats}
    truth_lines: list[str] = []
    sheets = generate_sheets(
        load_template("ljun-teori-kejuruan"),
        count=count,
        seed=seed,
        level=level,
        dpi=dpi,
        bits=1 if mode == "1bit" else 8,
        include_special_pages=False,
    )
    for number, sheet in enumerate(sheets):
        image = Image.fromarray(sheet.image)
        if mode == "1bit":
            image = image.convert("1", dither=Image.Dither.NONE)
        for writer in writers.values():
            source, page = writer.add(sheet.image, image, number, sheet.dpi)
            truth_lines.append(
                json.dumps({**sheet.truth, "source": source, "page": page}, ensure_ascii=False)
            )
    for writer in writers.values():
        writer.close()
    truth = out / "truth.jsonl"
    truth.write_text("".join(line + "\n" for line in truth_lines), encoding="utf-8")
    keys = []
    for paket, key in answer_keys(seed).items():
        keys.append(out / KEY_FILE_NAMES[paket])
        keys[-1].write_text(json.dumps(key), encoding="utf-8")
    files = tuple(path for writer in writers.values() for path in writer.files)
    return GeneratedScans(out, files, truth, tuple(keys), count)


class _FormatWriter:
    """One format's files of a generated set, written a page at a time."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.fmt = fmt
        self.folder = out / fmt
        self.folder.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.files: list[Path] = []
        self._tiff: Any = None
        self._g4: Any = None
        self._handle: Any = None
        self._pages = 0

    def add(self, pixels: np.ndarray, image: Any, number: int, dpi: int) -> tuple[str, int]:
        """Write one page; return its ``(source relative to the set, page number)``."""
        import tifffile

        if self.fmt in ("jpeg", "png"):
            path = self.folder / f"{number + 1:05d}.{'jpg' if self.fmt == 'jpeg' else 'png'}"
            options = {"quality": JPEG_QUALITY} if self.fmt == "jpeg" else {}
            image.save(path, dpi=(dpi, dpi), **options)
            self.files.append(path)
            return str(path.relative_to(self.out)), 1
        if number % SHEETS_PER_FILE == 0:
            self.close()
            suffix = "pdf" if self.fmt == "pdf" else "tif"
            self.files.append(self.folder / f"amplop-{len(self.files) + 1:04d}.{suffix}")
            self._pages = 0
            if self.fmt in ("tif-none", "tif-lzw", "tif-deflate"):
                self._tiff = tifffile.TiffWriter(self.files[-1])
            elif self.fmt == "tif-g4":
                from PIL import TiffImagePlugin

                self._handle = open(self.files[-1], "w+b")  # noqa: SIM115 -- closed in close()
                self._g4 = TiffImagePlugin.AppendingTiffWriter(self._handle, new=True)
        path = self.files[-1]
        if self._tiff is not None:
            compression = {"tif-none": None, "tif-lzw": "lzw", "tif-deflate": "zlib"}[self.fmt]
            self._tiff.write(
                pixels,
                compression=compression,
                resolution=(dpi, dpi),
                resolutionunit="INCH",
                photometric="minisblack",
            )
        elif self._g4 is not None:
            image.save(self._g4, format="TIFF", compression="group4", dpi=(dpi, dpi))
            self._g4.newFrame()
        else:  # pdf: JPEG pages for gray, CCITT G4 for 1-bit (Pillow's PDF writer)
            options = {} if image.mode == "1" else {"quality": JPEG_QUALITY}
            image.save(path, format="PDF", resolution=float(dpi), append=self._pages > 0, **options)
        self._pages += 1
        return str(path.relative_to(self.out)), self._pages

    def close(self) -> None:
        if self._tiff is not None:
            self._tiff.close()
            self._tiff = None
        if self._g4 is not None:
            self._g4.close()
            self._handle.close()
            self._g4 = self._handle = None


def scan_format(path: str | os.PathLike[str]) -> str:
    """A scan file's format as the table names it (``tif-lzw``, ``pdf-ccitt``, ``png``, ...).

    Judged from the content: the first TIFF page's compression, the filter of
    the first PDF page's image (``pdf-render`` when that page is not one
    image), PNG or JPEG by signature; ``other`` otherwise.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return "other"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                code = int(tif.pages.first.compression)
        except (ValueError, OSError, RuntimeError, IndexError):
            return "tif-other"
        return _TIFF_COMPRESSION_NAMES.get(code, f"tif-{code}")
    if head.startswith(b"%PDF"):
        return _pdf_format(str(path))
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return "other"


def _pdf_format(path: str) -> str:
    import pypdfium2 as pdfium

    from ._pdf import _single_page_image

    try:
        with pdfium.PdfDocument(path) as document:
            page = document[0]
            width, height = page.get_size()
            image = _single_page_image(page, width, height)
            if image is None:
                return "pdf-render"
            filters = image.get_filters()
    except pdfium.PdfiumError:
        return "pdf-other"
    names = {"CCITTFaxDecode": "ccitt", "DCTDecode": "jpeg", "FlateDecode": "flate"}
    return f"pdf-{names.get(filters[-1], 'other') if filters else 'raw'}"


# --------------------------------------------------------------------------- the floor


def _floor_seconds(path: Path, fmt: str) -> tuple[float, int]:
    """CPU seconds to decode every page of ``path`` with the fastest decoder, and its pages.

    Each decoder ljun has for the format decodes the file, and the faster
    counts; only the decode (1-bit pages: libtiff's 0/1, not ljun's 0/255).
    """
    clock = time.process_time
    if fmt.startswith("tif"):
        import tifffile

        from ._fax import FaxDecodeError, fax_bits
        from .load import tiff_fax_strips

        started = clock()
        with tifffile.TiffFile(path) as tif:
            tif.pages.cache = False
            pages = len(tif.pages)
            for index in range(pages):
                tif.pages[index].asarray()
        by_tifffile = clock() - started
        started = clock()
        with tifffile.TiffFile(path) as tif:
            tif.pages.cache = False
            for index in range(pages):
                tiff_page = tif.pages[index]
                # 1-bit CCITT pages by libtiff, as ljun reads them
                strips = tiff_fax_strips(tiff_page)
                try:
                    decoded = strips is not None and fax_bits(strips[0], **strips[1]) is not None
                except FaxDecodeError:
                    decoded = False  # tifffile decodes it, as in ljun
                if not decoded:
                    tiff_page.asarray()
        return min(by_tifffile, clock() - started), pages
    if fmt.startswith("pdf"):
        import pypdfium2 as pdfium

        from ._pdf import decode_only, fax_parameters, page_image

        started = clock()
        fax = fax_parameters(path)  # Group 4 pages by libtiff, as ljun reads them
        with pdfium.PdfDocument(str(path)) as document:
            pages = len(document)
            for index in range(pages):
                if fmt == "pdf-ccitt":
                    decode_only(document, index, fax)
                else:
                    page_image(document, index, 1 << 62, where=str(path), fax=fax)
        return clock() - started, pages
    import cv2
    from PIL import Image

    started = clock()
    cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    with_cv2 = clock() - started
    started = clock()
    with Image.open(path) as image:
        image.load()
    return min(with_cv2, clock() - started), 1


# --------------------------------------------------------------------------- stages


def _stage_pass(
    files: Sequence[Path],
    formats: Mapping[Path, str],
    *,
    template: Any,
    calibration: Any,
    keys: Any,
    workdir: Path,
) -> tuple[dict[str, dict[str, list[float]]], dict[tuple[str, int], Any]]:
    """Every page through every stage in this process, each stage timed (CPU s).

    Returns per format, per stage, the seconds of each sheet; and the
    readings by (resolved source, page), for accuracy.
    """
    from .batch import file_digest, page_hash
    from .export import export_records
    from .load import iter_file_pages
    from .pipeline import analyse_sheet, reading_from_failure
    from .records import PageFailure
    from .score import score_sheet
    from .store import open_store

    clock = time.process_time
    times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    readings: dict[tuple[str, int], Any] = {}
    with open_store(workdir / "stages.sqlite") as store:
        writer = store.begin_batch(
            template=template.id, calibration=calibration.identity, arguments={"bench": "stages"}
        )
        pages_done = 0
        for file_index, path in enumerate(files):
            fmt = formats[path]
            started = clock()
            digest = file_digest(path)
            hashed = clock() - started
            file_times: dict[str, list[float]] = defaultdict(list)
            loaded = iter_file_pages(path)
            while True:
                started = clock()
                item = next(loaded, None)
                load_s = clock() - started
                if item is None:
                    break
                stage_s: dict[str, float] = {}
                if isinstance(item, PageFailure):
                    reading = reading_from_failure(item, template)
                else:
                    reading = analyse_sheet(
                        item, template, calibration, stage_seconds=stage_s
                    ).reading
                started = clock()
                scored = score_sheet(reading, keys)
                score_s = clock() - started
                started = clock()
                writer.stage(scored, page_hash=page_hash(digest, item.page), file_index=file_index)
                store_s = clock() - started
                file_times["load"].append(load_s)
                file_times["score"].append(score_s)
                file_times["store"].append(store_s)
                for stage, seconds in stage_s.items():
                    file_times[stage].append(seconds)
                readings[(str(Path(reading.source).resolve()), reading.page)] = reading
                pages_done += 1
            n_pages = max(len(file_times["load"]), 1)
            file_times["hash"] = [hashed / n_pages] * n_pages
            for stage, values in file_times.items():
                times[fmt][stage] += values
        started = clock()
        writer.commit(keys=keys)
        commit_s = clock() - started
        started = clock()
        export_records(store.result_records(), workdir / "stages.jsonl")
        export_s = clock() - started
    for fmt_times in times.values():
        n = len(fmt_times["load"])
        fmt_times["store"] = [s + commit_s / max(pages_done, 1) for s in fmt_times["store"]]
        fmt_times["export"] = [export_s / max(pages_done, 1)] * n
    return times, readings


# --------------------------------------------------------------------------- end to end


def _end_to_end_child(
    groups: Sequence[tuple[str, Sequence[str]]],
    key_files: Sequence[str],
    workdir: str,
    workers: int,
) -> dict[str, Any]:
    """In a fresh process: each group as one real batch (run_batch + JSONL export).

    Returns CPU and wall seconds per group, the start-up seconds (imports,
    template, keys, sampling pattern) and the peak RSS of this process.
    """
    clock = time.process_time
    started = clock()
    if workers > 1:
        # As ``ljun score`` does first; waited for here, so that the batch's
        # time is the workers' reading, and the server's imports count as
        # start-up like the imports of a one-worker run.
        from .batch import start_worker_server

        start_worker_server(wait=True)
    else:
        # What the worker server imports (the reading stack and the page
        # decoders, imported on first use otherwise): start-up here too.
        import importlib

        from .batch._executor import WORKER_PRELOAD

        for module in WORKER_PRELOAD:
            importlib.import_module(module)
    import cv2

    # One core's work, as in a worker process (OpenCV's own threads would add
    # their overhead to the CPU time and other cores' time to nothing).
    cv2.setNumThreads(1 if workers == 1 else cv2.getNumThreads())
    from .batch import run_batch
    from .calibration import load_calibration
    from .export import export_records
    from .keys import load_answer_keys
    from .load import quiet_tifffile
    from .read import sampling_pattern
    from .register import REFERENCE_DPI
    from .store import open_store
    from .template import DEFAULT_TEMPLATE, load_template

    quiet_tifffile()
    template = load_template(DEFAULT_TEMPLATE)
    calibration = load_calibration()
    keys = load_answer_keys(key_files) if key_files else _no_keys()
    if workers == 1:
        sampling_pattern(template, REFERENCE_DPI)
    startup = clock() - started
    result: dict[str, Any] = {"startup_s": startup, "groups": {}}
    for number, (name, files) in enumerate(groups):
        folder = Path(workdir) / f"run-{number}"
        folder.mkdir()
        cpu0, wall0 = clock(), time.perf_counter()
        with open_store(folder / "ljun.sqlite") as store:
            batch = run_batch(
                files,
                keys=keys,
                store=store,
                template=template,
                calibration=calibration,
                workers=workers,
            )
            export_records(store.result_records(batch=batch.batch_id), folder / "results.jsonl")
        result["groups"][name] = {
            "cpu_s": clock() - cpu0,
            "wall_s": time.perf_counter() - wall0,
            "pages": int(batch.summary["pages"]),
        }
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB (1 MB = 1024 KiB).

    Linux's ``VmHWM``: the high-water mark of this program's own memory.
    ``ru_maxrss`` is not used where ``VmHWM`` exists: Linux carries it over
    from the process that started this one (a spawned worker reported the
    bench's own 290 MB of generated scans as its peak).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass  # no /proc (not Linux): the rusage figure is the one there is
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _no_keys() -> Any:
    from .keys import AnswerKeySet

    return AnswerKeySet.from_keys([])


def _in_fresh_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    # spawn: a clean process, so its peak RSS and start-up are its own.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


# --------------------------------------------------------------------------- accuracy


def _load_truth(truth: Path) -> dict[tuple[str, int], dict[str, Any]]:
    lines: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        text = truth.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchError(f"{truth}: cannot be read: {exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = (str((truth.parent / record["source"]).resolve()), int(record["page"]))
        except (ValueError, KeyError, TypeError):
            raise BenchError(
                f"{truth} line {number}: not a result record with source and page"
            ) from None
        lines[key] = record
    return lines


def _accuracy(
    readings: Mapping[tuple[str, int], Any], truth: Mapping[tuple[str, int], dict[str, Any]]
) -> dict[str, Any]:
    sheets = special = silent = reviewed = wrong = 0
    for key, expected in truth.items():
        reading = readings.get(key)
        if reading is None:
            continue
        if expected.get("flags"):  # a blank or foreign page: must go to review
            special += 1
            silent += not reading.review
            continue
        sheets += 1
        differs = list(reading.answers) != list(expected["answers"]) or any(
            getattr(reading, name) != expected[name] for name in _IDENTITY_KEYS
        )
        wrong += differs
        reviewed += reading.review
        silent += differs and not reading.review
    return {
        "sheets": sheets,
        "special_pages": special,
        "silent_errors": silent,
        "read_wrong": wrong,
        "review": reviewed,
        "review_rate": reviewed / sheets if sheets else None,
    }


# --------------------------------------------------------------------------- the run


def run_bench(
    scans: Sequence[str | os.PathLike[str]],
    *,
    key_files: Sequence[str | os.PathLike[str]] = (),
    truth: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    repeat: int = 3,
    generated: Mapping[str, Any] | None = None,
    dask: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure ``ljun score`` on ``scans``; the report as a JSON-able dict.

    Parameters
    ----------
    scans : sequence of path
        Files and folders (as ``ljun score`` takes them).
    key_files : sequence of path
        Answer keys; without them every sheet goes to review with ``no_key``
        (the timing hardly changes).
    truth : path, optional
        ``truth.jsonl`` (sources relative to its folder) for accuracy.
    workers : int, optional
        Workers of the all-cores run (default one per core).
    repeat : int
        Timed runs of each kind; the best is kept.
    generated : mapping, optional
        How the scans were generated, copied into the report.
    dask : str, optional
        Also score the whole batch on this Dask cluster (``local``, ``local:N``
        or ``tcp://HOST:8786``, see :func:`ljun._dask.dask_executor`).
    on_step : callable, optional
        Called with a short text before each step (progress).

    Raises
    ------
    BenchError
        No scan files, or an unreadable truth file.
    """
    from .batch import default_workers
    from .calibration import load_calibration
    from .keys import load_answer_keys
    from .load import list_scan_files
    from .read import sampling_pattern
    from .register import REFERENCE_DPI
    from .template import DEFAULT_TEMPLATE, load_template

    step = on_step or (lambda text: None)
    if repeat < 1:
        raise BenchError(f"repeat must be 1 or more, not {repeat}")
    files = list_scan_files(scans)
    files = [path for path in files if path.is_file()]
    if not files:
        raise BenchError(
            f"no scan files found under {', '.join(os.fspath(s) for s in scans) or '(nothing)'}"
        )
    workers = workers or default_workers()
    truth_lines = _load_truth(Path(truth)) if truth is not None else None
    formats = {path: scan_format(path) for path in files}
    by_format: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        by_format[formats[path]].append(path)

    step("start-up: template, calibration, sampling pattern")
    import cv2

    # The stages are timed as a worker runs them: OpenCV on one thread.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    clock = time.process_time
    started = clock()
    template = load_template(DEFAULT_TEMPLATE)
    calibration = load_calibration()
    keys = load_answer_keys(key_files) if key_files else _no_keys()
    sampling_pattern(template, REFERENCE_DPI)
    startup_in_process = clock() - started

    step(f"floor: decoding {len(files)} files, best of {repeat}")
    floor: dict[str, float] = {}
    pages_of: dict[str, int] = {}
    for fmt, paths in by_format.items():
        best = float("inf")
        for _ in range(repeat):
            seconds, pages = 0.0, 0
            for path in paths:
                file_s, file_pages = _floor_seconds(path, fmt)
                seconds += file_s
                pages += file_pages
            best = min(best, seconds)
        floor[fmt], pages_of[fmt] = best, pages

    with tempfile.TemporaryDirectory(prefix="ljun-bench-") as tmp:
        workdir = Path(tmp)
        step("stages: every page through every stage, one core")
        stage_times, readings = _stage_pass(
            files, formats, template=template, calibration=calibration, keys=keys, workdir=workdir
        )
        groups = [(fmt, [str(p) for p in paths]) for fmt, paths in by_format.items()]
        keys_arg = [str(k) for k in key_files]
        end_to_end: dict[str, float] = {}
        peak_rss = 0.0
        startup_fresh = float("inf")
        for run in range(repeat):
            step(f"end to end, one worker, fresh process: run {run + 1} of {repeat}")
            run_dir = workdir / f"e2e-{run}"
            run_dir.mkdir()
            child = _in_fresh_process(_end_to_end_child, groups, keys_arg, str(run_dir), 1)
            startup_fresh = min(startup_fresh, child["startup_s"])
            peak_rss = max(peak_rss, child["peak_rss_mb"])
            for fmt, figures in child["groups"].items():
                end_to_end[fmt] = min(end_to_end.get(fmt, float("inf")), figures["cpu_s"])
        scaling = _scaling(files, keys_arg, workdir, workers, repeat, step)
        on_dask = (
            _dask_run(files, keys, dask, workdir, repeat, step, scaling)
            if dask is not None
            else None
        )
    cv2.setNumThreads(threads)

    rows = []
    for fmt in by_format:
        pages = pages_of[fmt]
        floor_ms = _MS * floor[fmt] / pages
        e2e_ms = _MS * end_to_end[fmt] / pages
        stages = stage_times[fmt]
        rows.append(
            {
                "format": fmt,
                "files": len(by_format[fmt]),
                "pages": pages,
                "floor_ms": round(floor_ms, 2),
                "end_to_end_ms": round(e2e_ms, 2),
                "beyond_floor_ms": round(e2e_ms - floor_ms, 2),
                "ratio": round(e2e_ms / floor_ms, 2) if floor_ms > 0 else None,
                "sheets_per_s_per_core": round(_MS / e2e_ms, 1) if e2e_ms > 0 else None,
                "stages_ms": {
                    stage: round(_MS * statistics.median(stages[stage]), 2)
                    for stage in _STAGES
                    if stages.get(stage)
                },
            }
        )
    return {
        "ljun": __version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "load_average": [round(v, 2) for v in os.getloadavg()],
        },
        "inputs": {
            "scans": [os.fspath(s) for s in scans],
            "files": len(files),
            "pages": sum(pages_of.values()),
            "generated": dict(generated) if generated else None,
            "truth": os.fspath(truth) if truth is not None else None,
        },
        "repeat": repeat,
        "clock": "CPU time of the process doing the work (time.process_time); best of repeat",
        "targets": {
            "beyond_floor_ms": TARGET_BEYOND_FLOOR_MS,
            "sheets_per_s_per_core": TARGET_SHEETS_PER_S_PER_CORE,
            "peak_rss_mb": TARGET_RSS_MB,
        },
        "startup_ms": {
            "in_process": round(_MS * startup_in_process, 1),
            "fresh_process": round(_MS * startup_fresh, 1),
        },
        "formats": rows,
        "scaling": scaling,
        "dask": on_dask,
        "peak_rss_mb": round(peak_rss, 1),
        "accuracy": _accuracy(readings, truth_lines) if truth_lines is not None else None,
    }


def _scaling(
    files: Sequence[Path],
    key_files: Sequence[str],
    workdir: Path,
    workers: int,
    repeat: int,
    step: Callable[[str], None],
) -> dict[str, Any]:
    """Wall seconds of the whole batch on 1 worker and on ``workers``, best of ``repeat``."""
    group = [("all", [str(p) for p in files])]
    best = {1: float("inf"), workers: float("inf")}
    pages = 0
    for run in range(repeat):
        for count in sorted(best):
            step(f"scaling: {count} worker(s), run {run + 1} of {repeat}")
            run_dir = workdir / f"scale-{count}-{run}"
            run_dir.mkdir()
            child = _in_fresh_process(_end_to_end_child, group, key_files, str(run_dir), count)
            figures = child["groups"]["all"]
            best[count] = min(best[count], figures["wall_s"])
            pages = figures["pages"]
    one, many = best[1], best[workers]
    return {
        "pages": pages,
        "workers": workers,
        "wall_s_1_worker": round(one, 3),
        "wall_s_all_workers": round(many, 3),
        "sheets_per_s_1_worker": round(pages / one, 1) if one > 0 else None,
        "sheets_per_s_all_workers": round(pages / many, 1) if many > 0 else None,
        "speedup": round(one / many, 2) if many > 0 else None,
    }


def _dask_run(
    files: Sequence[Path],
    keys: Any,
    spec: str,
    workdir: Path,
    repeat: int,
    step: Callable[[str], None],
    scaling: Mapping[str, Any],
) -> dict[str, Any]:
    """Wall seconds of the whole batch on the Dask cluster ``spec``, best of ``repeat``.

    The cluster's start-up is left out (one untimed run first warms the
    workers).  The scheduler's cost per sheet is the Dask wall time times its
    workers, less one local worker's wall time, per sheet: what Dask adds to
    each sheet's work.
    """
    from ._dask import dask_executor
    from .batch import run_batch
    from .calibration import load_calibration
    from .store import open_store
    from .template import DEFAULT_TEMPLATE, load_template

    template = load_template(DEFAULT_TEMPLATE)
    calibration = load_calibration()
    best = float("inf")
    pages = 0
    with dask_executor(spec) as executor:
        workers = len(executor.client.scheduler_info()["workers"])
        for run in range(repeat + 1):
            step(f"dask {spec}: {'warm-up' if run == 0 else f'run {run} of {repeat}'}")
            with open_store(workdir / f"dask-{run}.sqlite") as store:
                started = time.perf_counter()
                batch = run_batch(
                    [str(p) for p in files],
                    keys=keys,
                    store=store,
                    template=template,
                    calibration=calibration,
                    executor=executor,
                )
                seconds = time.perf_counter() - started
            pages = int(batch.summary["pages"])
            if run > 0:
                best = min(best, seconds)
    one = scaling["wall_s_1_worker"]
    return {
        "cluster": spec,
        "workers": workers,
        "pages": pages,
        "wall_s": round(best, 3),
        "sheets_per_s": round(pages / best, 1) if best > 0 else None,
        "scheduler_ms_per_sheet": round(_MS * (best * workers - one) / pages, 2) if pages else None,
    }


# --------------------------------------------------------------------------- the table


def format_report(report: Mapping[str, Any]) -> str:
    """The report as the table ``ljun bench`` prints."""
    lines = [
        f"ljun {report['ljun']} bench, {report['date']}, {report['machine']['cpus']} cores "
        f"(load average {report['machine']['load_average'][0]}); CPU ms per sheet, "
        f"one worker, best of {report['repeat']}",
        "",
        f"{'format':<13}{'pages':>6}{'floor':>8}{'ljun':>8}{'beyond':>8}{'ratio':>7}"
        f"{'sheets/s/core':>15}   stages (median ms: load hash register read decode score "
        "store export)",
    ]
    for row in report["formats"]:
        stages = " ".join(f"{row['stages_ms'].get(s, 0):.1f}" for s in _STAGES)
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        rate = "-" if row["sheets_per_s_per_core"] is None else f"{row['sheets_per_s_per_core']}"
        lines.append(
            f"{row['format']:<13}{row['pages']:>6}{row['floor_ms']:>8.1f}"
            f"{row['end_to_end_ms']:>8.1f}{row['beyond_floor_ms']:>8.1f}{ratio:>7}{rate:>15}"
            f"   {stages}"
        )
    scaling = report["scaling"]
    lines += [
        "",
        f"targets: beyond the floor <= {TARGET_BEYOND_FLOOR_MS:.0f} ms; >= "
        f"{TARGET_SHEETS_PER_S_PER_CORE:.0f} sheets/s per core where decoding is cheap",
        f"start-up: {report['startup_ms']['fresh_process']:.0f} ms in a fresh process "
        "(not in the figures above)",
        f"all {scaling['pages']} pages, wall time: 1 worker {scaling['wall_s_1_worker']:.2f} s "
        f"({scaling['sheets_per_s_1_worker']} sheets/s), {scaling['workers']} workers "
        f"{scaling['wall_s_all_workers']:.2f} s ({scaling['sheets_per_s_all_workers']} sheets/s): "
        f"{scaling['speedup']}x",
        f"peak RSS, one worker: {report['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB:.0f} MB "
        "at 10,000 pages)",
    ]
    on_dask = report.get("dask")
    if on_dask is not None:
        lines.append(
            f"dask {on_dask['cluster']} ({on_dask['workers']} workers): {on_dask['wall_s']:.2f} s "
            f"({on_dask['sheets_per_s']} sheets/s); scheduler cost "
            f"{on_dask['scheduler_ms_per_sheet']} ms per sheet"
        )
    accuracy = report.get("accuracy")
    if accuracy is not None:
        rate = accuracy["review_rate"]
        lines.append(
            f"accuracy: {accuracy['sheets']} sheets, {accuracy['silent_errors']} silent errors, "
            f"{accuracy['review']} sent to review"
            + (f" ({rate:.1%})" if rate is not None else "")
            + f", {accuracy['read_wrong']} read differently from the truth"
        )
    return "\n".join(lines)


def bundled_inputs() -> tuple[list[Path], list[Path], Path | None] | None:
    """The bundled samples (scans, keys, truth) of a source checkout, or None."""
    folder = BUNDLED_SAMPLES
    if not folder.is_dir():
        return None
    keys = [folder / name for name in ("paketA.json", "paketB.json", "susulan.json")]
    truth = folder / "truth.jsonl"
    return [folder], [k for k in keys if k.is_file()], truth if truth.is_file() else None


def keys_beside(scans: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Answer keys (paketA.json, paketB.json, susulan.json) in the first folder given."""
    for scan in scans:
        folder = Path(scan) if Path(scan).is_dir() else Path(scan).parent
        found = [folder / n for n in ("paketA.json", "paketB.json", "susulan.json")]
        found = [k for k in found if k.is_file()]
        if found:
            return found
    return []
