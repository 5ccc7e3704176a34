"""Accuracy and speed of the reading pipeline on freshly generated scans.

Accuracy: for each level, ``--count`` sheets are generated in memory with
``ljun.samples.generate_sheets`` (ground truth known), read with
``ljun.pipeline.read_sheet``, and compared with the truth:

* answers accuracy: items read exactly as the truth, over all items of
  student sheets;
* identity accuracy: student sheets whose nomor peserta, nama, tanggal lahir,
  kode kompetensi, paket and barcode all read exactly;
* silent errors: student sheets that differ from the truth while ``review``
  is false (the number that must be zero), plus special pages (blank or
  non-LJUN) that were not sent to review; ``dot/tick`` counts those of them
  whose every wrong item holds a dot or a tick (marks ambiguous by design,
  :data:`AMBIGUOUS_KINDS`) and whose identity read right: the hard level's
  target allows these, never the others.  A barcode read in part
  (``LJUN-<paket>-??????``: its paket symbol read right, the serial declared
  unread with the flag ``barcode_serial_unread``) is not a difference here;
  it is counted apart (``barcode_partial``) and is not an exact identity;
* barcode: student sheets whose barcode read exactly (``barcode_accuracy``),
  in part (``barcode_partial``), or wrong (``barcode_wrong``: a text that is
  neither the truth nor a part of it);
* review rate: student sheets sent to review;
* needless reviews: reviewed student sheets whose reading was in fact
  right (share of the reviewed ones): most reviews should be necessary;
* registration failures: student sheets that could not be registered.

The JSON lists every mismatch shown (``errors``) and every reviewed student
sheet (``reviews``: its scan, flags and whether the review was needless).

Speed: 200-dpi 8-bit sheets are encoded as LZW TIFFs in memory; the bench
times plain TIFF decode (the floor, ``tifffile``) and ``read_sheet`` on the
decoded pages (register + read + decode, excluding file decode), each
repeated, on one core, in this process.

``--turn`` reads every page turned by 180° (the ``upside`` column counts
the sheets read upside down); ``--template`` picks the design; a row's BITS
may be ``rgb`` or ``dropout`` for colour output of an 8-bit scanner.

Usage::

    .venv/bin/python bench/bench_read.py                      # 200 sheets per level
    .venv/bin/python bench/bench_read.py --count 50 --levels easy --json /tmp/r.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import tifffile

from ljun._color import pencil_channel_weights
from ljun.calibration import load_calibration
from ljun.decode import barcode_read_in_part, decode_barcode, decode_marks
from ljun.load import to_gray
from ljun.pipeline import analyse_sheet
from ljun.read import measure_darkness, sampling_pattern
from ljun.records import Page
from ljun.register import register
from ljun.samples import generate_sheets
from ljun.template import DEFAULT_TEMPLATE, load_template

#: Default rows: ``level[:dpi:bits]``.  A level alone is the generator's
#: default scan (200 dpi, 8-bit gray, as ``make_samples`` writes); ``mixed``
#: varies dpi (150/200/300) and bit depth (8/1) per envelope.
DEFAULT_ROWS = ("easy", "moderate", "moderate:mixed:mixed", "hard:mixed:mixed")
IDENTITY_KEYS = ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi", "paket", "barcode")
DEFAULT_JSON = Path(__file__).resolve().parent / "out" / "bench_read.json"
#: Kinds of pencil mark ambiguous by design (issue 15's hard target): a
#: silent error on an item holding one is counted apart.
AMBIGUOUS_KINDS = frozenset({"dot", "tick"})


def ambiguous_only(wrong_items: list[int], wrong_identity: list[str], hard_marks) -> bool:
    """True when every wrong answer item holds a mark of :data:`AMBIGUOUS_KINDS`.

    >>> ambiguous_only([3], [], [{"field": "answers", "item": 3, "kind": "dot"}])
    True
    >>> ambiguous_only([3, 4], [], [{"field": "answers", "item": 3, "kind": "dot"}])
    False
    >>> ambiguous_only([], [], [])
    False
    """
    ambiguous = {
        m["item"]
        for m in hard_marks or ()
        if m["field"] == "answers" and m["kind"] in AMBIGUOUS_KINDS
    }
    return bool(wrong_items) and not wrong_identity and set(wrong_items) <= ambiguous


def _reading_dict(reading) -> dict:
    """The fields compared with the truth: identity (with barcode) and answers."""
    return {key: getattr(reading, key) for key in IDENTITY_KEYS} | {
        "answers": list(reading.answers)
    }


def accuracy(
    template,
    calibration,
    level: str,
    count: int,
    seed: int,
    dpi,
    bits,
    show: int,
    *,
    scan_color: str = "gray",
    turn: bool = False,
) -> dict:
    n_sheets = n_items = items_ok = identity_ok = silent = review = failures = upside_down = (
        needless
    ) = barcode_ok = barcode_partial = barcode_wrong = silent_ambiguous = 0
    special = Counter()
    special_silent = 0
    flag_words: Counter = Counter()
    errors = []
    reviews = []
    # Colour pages are read as ljun.load reads them for this template.
    weights = pencil_channel_weights(template.print_color) if template.print_color else None
    sheets = generate_sheets(
        template, count=count, seed=seed, level=level, dpi=dpi, bits=bits, scan_color=scan_color
    )
    for sheet in sheets:
        image = sheet.image[::-1, ::-1] if turn else sheet.image
        page = Page(
            image=np.ascontiguousarray(to_gray(image, weights=weights)),
            source=f"{level}:{sheet.index}",
            page=1,
            dpi=float(sheet.dpi),
        )
        reading = analyse_sheet(page, template, calibration).reading
        if sheet.kind != "ljun":
            expected = sheet.truth["flags"][0]
            special[(sheet.kind, reading.failure or "read")] += 1
            if not reading.review:
                special_silent += 1
                errors.append(
                    {
                        "sheet": sheet.kind,
                        "silent": True,
                        "expected": expected,
                        "flags": list(reading.flags),
                    }
                )
            continue
        n_sheets += 1
        upside_down += bool(sheet.scan.get("rotated_180")) != turn
        truth = sheet.truth
        got = _reading_dict(reading)
        answers_truth = truth["answers"]
        n_items += len(answers_truth)
        wrong_items = [
            i + 1
            for i, a in enumerate(answers_truth)
            if i >= len(got["answers"]) or got["answers"][i] != a
        ]
        items_ok += len(answers_truth) - len(wrong_items)
        wrong_identity = [k for k in IDENTITY_KEYS if got[k] != truth[k]]
        identity_ok += not wrong_identity
        partial = barcode_read_in_part(got["barcode"], truth["barcode"])
        barcode_ok += got["barcode"] == truth["barcode"]
        barcode_partial += partial
        barcode_wrong += bool(got["barcode"]) and got["barcode"] != truth["barcode"] and not partial
        if partial:  # declared unread, not wrong
            wrong_identity.remove("barcode")
        review += reading.review
        failures += reading.failure is not None
        for flag in reading.flags:
            flag_words[flag.split(":")[0]] += 1
        differs = bool(wrong_items or wrong_identity)
        hard_marks = sheet.scan.get("hard_marks")
        if differs and not reading.review:
            silent += 1
            silent_ambiguous += ambiguous_only(wrong_items, wrong_identity, hard_marks)
        needless += reading.review and not differs
        if reading.review:
            reviews.append(
                {
                    "sheet": sheet.index,
                    "dpi": sheet.dpi,
                    "scan": {k: v for k, v in sheet.scan.items() if k != "hard_marks"},
                    "needless": not differs,
                    "flags": list(reading.flags),
                }
            )
        if differs and (not reading.review or len(errors) < show):
            errors.append(
                {
                    "sheet": sheet.index,
                    "dpi": sheet.dpi,
                    "bits": sheet.scan.get("bits"),
                    "silent": not reading.review,
                    "items": {
                        i: (answers_truth[i - 1], got["answers"][i - 1] if got["answers"] else None)
                        for i in wrong_items
                    },
                    "identity": {k: (truth[k], got[k]) for k in wrong_identity},
                    "flags": list(reading.flags),
                    "hard_marks": hard_marks,
                }
            )
    return {
        "level": level,
        "dpi": dpi,
        "bits": bits,
        "scan_color": scan_color,
        "upside_down": upside_down,
        "sheets": n_sheets,
        "answers_accuracy": items_ok / max(n_items, 1),
        "identity_accuracy": identity_ok / max(n_sheets, 1),
        "barcode_accuracy": barcode_ok / max(n_sheets, 1),
        "barcode_partial": barcode_partial,
        "barcode_wrong": barcode_wrong,
        "silent_errors": silent,
        "silent_dot_tick": silent_ambiguous,
        "review_rate": review / max(n_sheets, 1),
        "needless_reviews": needless / max(review, 1),
        "registration_failures": failures,
        "special_pages": {f"{k[0]}->{k[1]}": v for k, v in sorted(special.items())},
        "special_pages_not_reviewed": special_silent,
        "flags": dict(flag_words.most_common()),
        "errors": errors,
        "reviews": reviews,
    }


def timing(template, calibration, count: int, seed: int, repeat: int) -> dict:
    pattern = sampling_pattern(template)
    geometry = pattern.geometry
    blobs = []
    for sheet in generate_sheets(
        template,
        count=count,
        seed=seed,
        level="moderate",
        dpi=200,
        bits=8,
        include_special_pages=False,
    ):
        buffer = io.BytesIO()
        tifffile.imwrite(
            buffer, sheet.image, compression="lzw", resolution=(200, 200), resolutionunit="INCH"
        )
        blobs.append(buffer.getvalue())
    pages = [Page(tifffile.imread(io.BytesIO(b)), "bench", 1, 200.0) for b in blobs]
    analyse_sheet(pages[0], template, calibration)  # warm caches (sampling pattern, templates)

    def per_sheet(fn) -> list[float]:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            for item in fn_items:
                fn(item)
            times.append((time.perf_counter() - start) / len(fn_items) * 1000.0)
        return times

    fn_items = blobs
    decode_ms = per_sheet(lambda b: tifffile.imread(io.BytesIO(b)))
    fn_items = pages
    total_ms = per_sheet(lambda p: analyse_sheet(p, template, calibration))
    registrations = [register(p.image, template, calibration, dpi=p.dpi) for p in pages]
    register_ms = per_sheet(lambda p: register(p.image, template, calibration, dpi=p.dpi))
    fn_items = list(zip(pages, registrations))
    read_ms = per_sheet(lambda pr: measure_darkness(pr[0].image, pr[1], pattern))
    bubbles = [measure_darkness(p.image, r, pattern) for p, r in zip(pages, registrations)]
    fn_items = bubbles
    marks_ms = per_sheet(lambda b: decode_marks(b, geometry, template, calibration))
    fn_items = list(zip(pages, registrations))
    barcode_ms = per_sheet(lambda pr: decode_barcode(pr[0].image, pr[1], template, geometry))
    best = min
    return {
        "sheets": len(pages),
        "repeat": repeat,
        "image_shape": list(pages[0].image.shape),
        "tiff_decode_ms": best(decode_ms),
        "read_sheet_ms": best(total_ms),
        "register_ms": best(register_ms),
        "read_ms": best(read_ms),
        "decode_marks_ms": best(marks_ms),
        "barcode_ms": best(barcode_ms),
        "read_sheet_ms_median": statistics.median(total_ms),
        "sheets_per_s_read_only": 1000.0 / best(total_ms),
        "sheets_per_s_decode_and_read": 1000.0 / (best(total_ms) + best(decode_ms)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels",
        nargs="+",
        default=list(DEFAULT_ROWS),
        help="rows as LEVEL or LEVEL:DPI:BITS (DPI/BITS may be 'mixed')",
    )
    parser.add_argument("--count", type=int, default=200, help="student sheets per level")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--calibration", default=None, help="calibration JSON (default calibration/default.json)"
    )
    parser.add_argument(
        "--timing-count", type=int, default=20, help="sheets for the timing run (0: skip)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timing repetitions (the best is reported)"
    )
    parser.add_argument(
        "--show-errors", type=int, default=0, help="list up to N reviewed mismatches too"
    )
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the JSON results")
    parser.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help="template JSON or bundled id to generate and read",
    )
    parser.add_argument(
        "--turn",
        action="store_true",
        help="read every page turned by 180 degrees (fed the other way up)",
    )
    args = parser.parse_args(argv)

    template = load_template(args.template)
    calibration = load_calibration(args.calibration)
    results = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "seed": args.seed,
        "calibration": calibration.source,
        "levels": [],
    }
    print(
        f"{'level':<9} {'scan':<13} {'sheets':>6} {'answers':>8} {'identity':>8} {'silent':>6} "
        f"{'dot/tick':>8} "
        f"{'review':>7} {'needless':>8} {'regfail':>7} {'upside':>6}  special pages"
    )
    for spec in args.levels:
        level, *scan = spec.split(":")
        dpi, bits = (scan + ["200", "8"][len(scan) :])[:2] if scan else ("200", "8")
        dpi = dpi if dpi == "mixed" else int(dpi)
        # BITS may be a colour output of an 8-bit scanner: 'rgb' or 'dropout'.
        scan_color = bits if bits in ("rgb", "dropout") else "gray"
        bits = bits if bits == "mixed" else 8 if scan_color != "gray" else int(bits)
        started = time.perf_counter()
        row = accuracy(
            template,
            calibration,
            level,
            args.count,
            args.seed,
            dpi,
            bits,
            args.show_errors,
            scan_color=scan_color,
            turn=args.turn,
        )
        row["seconds"] = time.perf_counter() - started
        results["levels"].append(row)
        special = ", ".join(f"{k}:{v}" for k, v in row["special_pages"].items()) or "-"
        shown = f"{dpi}dpi/{bits}bit" if scan_color == "gray" else f"{dpi}dpi/{scan_color}"
        print(
            f"{level:<9} {shown:<13} {row['sheets']:>6} {row['answers_accuracy']:>8.4%} "
            f"{row['identity_accuracy']:>8.2%} {row['silent_errors']:>6} {row['silent_dot_tick']:>8} "
            f"{row['review_rate']:>7.2%} "
            f"{row['needless_reviews']:>8.1%} "
            f"{row['registration_failures']:>7} {row['upside_down']:>6}  {special}"
            f"  barcode {row['barcode_accuracy']:.1%} exact, {row['barcode_partial']} paket only,"
            f" {row['barcode_wrong']} wrong"
            + (
                f"  NOT REVIEWED: {row['special_pages_not_reviewed']}"
                if row["special_pages_not_reviewed"]
                else ""
            )
        )
        for error in row["errors"]:
            print("    ", json.dumps(error, default=str)[:600])
    if args.timing_count > 0:
        t = timing(template, calibration, args.timing_count, args.seed + 1, args.repeat)
        results["timing"] = t
        print(
            f"\ntiming, {t['sheets']} sheets 200 dpi 8-bit {t['image_shape'][1]}x{t['image_shape'][0]}, "
            f"best of {t['repeat']}, one core, ms per sheet:\n"
            f"  TIFF decode (LZW)   {t['tiff_decode_ms']:7.2f}\n"
            f"  read_sheet          {t['read_sheet_ms']:7.2f}   (median {t['read_sheet_ms_median']:.2f})\n"
            f"    register          {t['register_ms']:7.2f}\n"
            f"    read (kernel)     {t['read_ms']:7.2f}\n"
            f"    decode marks      {t['decode_marks_ms']:7.2f}\n"
            f"    barcode           {t['barcode_ms']:7.2f}\n"
            f"  sheets/s: read only {t['sheets_per_s_read_only']:.0f}, decode+read {t['sheets_per_s_decode_and_read']:.0f}"
        )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
