"""Check that a speed change leaves every reading bit-for-bit as it was.

Run it on the same scans with the code before a change and after it, then
compare the two JSON files::

    .venv/bin/ljun samples make --count 80 --seed 8705 --level moderate \\
        --dpi mixed --bits 1 --out /tmp/eq/bw-moderate      # and gray, hard...
    PYTHONPATH=/path/to/old/checkout python bench/bench_identical.py \\
        /tmp/eq/* --json /tmp/before.json
    .venv/bin/python bench/bench_identical.py /tmp/eq/* --json /tmp/after.json
    .venv/bin/python bench/bench_identical.py --compare /tmp/before.json /tmp/after.json

For every page it records, through :func:`ljun.pipeline.analyse_sheet`, the
reading (every field; the per-bubble evidence and confidence as exact
digests), the registration (homography, levels, matches, fiducials, the
shared samples) and every feature of the bubble kernel, each number by its
exact bytes.  Then it scores the same files as one real batch (one worker,
``run_batch`` into a fresh SQLite store, JSONL export) and records the rows
of the store's ``pages``, ``readings``, ``scores``, ``reconciliation`` and
``review_images`` tables (the kept review images byte for byte) and the
exported file, so a change in hashing, storing or exporting
shows too.  ``--compare`` names each page and field that differs and exits 1
when any does.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

#: Store tables whose rows must be identical (timestamps, columns ``*_at``, left out).
STORE_TABLES = ("pages", "readings", "scores", "reconciliation", "review_images")


def _digest(value: Any) -> Any:
    """A JSON-able, exact stand-in for ``value`` (arrays and floats by their bytes)."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return f"{data.dtype}{data.shape}:{hashlib.blake2b(data.tobytes(), digest_size=12).hexdigest()}"
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, (bool, int, str, type(None))):
        return value
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _digest(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_digest(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _digest(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return hashlib.blake2b(value, digest_size=12).hexdigest()
    return repr(value)


def _pages(scans: list[str]) -> dict[str, Any]:
    from ljun.calibration import load_calibration
    from ljun.load import iter_pages, quiet_tifffile
    from ljun.pipeline import analyse_sheet
    from ljun.records import PageFailure
    from ljun.template import DEFAULT_TEMPLATE, load_template

    quiet_tifffile()
    template = load_template(DEFAULT_TEMPLATE)
    calibration = load_calibration()
    pages: dict[str, Any] = {}
    for page in iter_pages(scans):
        name = f"{page.source}#{page.page}"
        if isinstance(page, PageFailure):
            pages[name] = {"failure": _digest(page)}
            continue
        analysis = analyse_sheet(page, template, calibration)
        pages[name] = {
            "reading": _digest(analysis.reading),
            "registration": _digest(analysis.registration),
            "bubbles": _digest(analysis.bubbles),
        }
    return pages


def _batch(scans: list[str]) -> dict[str, Any]:
    from ljun.batch import run_batch
    from ljun.bench import keys_beside
    from ljun.calibration import load_calibration
    from ljun.export import export_records
    from ljun.keys import load_answer_keys
    from ljun.store import open_store
    from ljun.template import DEFAULT_TEMPLATE, load_template

    template = load_template(DEFAULT_TEMPLATE)
    keys = load_answer_keys(keys_beside(scans))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "ljun.sqlite"
        with open_store(db) as store:
            batch = run_batch(
                scans,
                keys=keys,
                store=store,
                template=template,
                calibration=load_calibration(),
                workers=1,
            )
            export_records(store.result_records(batch=batch.batch_id), Path(folder) / "r.jsonl")
        out["export"] = (Path(folder) / "r.jsonl").read_text(encoding="utf-8").splitlines()
        connection = sqlite3.connect(db)
        try:
            for table in STORE_TABLES:
                columns = [
                    row[1]
                    for row in connection.execute(f"PRAGMA table_info({table})")
                    if not row[1].endswith("_at")
                ]
                rows = connection.execute(
                    f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid"  # noqa: S608
                ).fetchall()
                out[table] = [dict(zip(columns, map(_digest, row), strict=True)) for row in rows]
        finally:
            connection.close()
    return out


def _compare(before: dict[str, Any], after: dict[str, Any], where: str, out: list[str]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key not in before or key not in after:
                out.append(f"{where}/{key}: only in {'after' if key not in before else 'before'}")
            else:
                _compare(before[key], after[key], f"{where}/{key}", out)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for number, (b, a) in enumerate(zip(before, after, strict=True)):
            _compare(b, a, f"{where}[{number}]", out)
    elif before != after:
        out.append(f"{where}: {before!r} -> {after!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scans", nargs="*", help="scan files or folders (a sample set each)")
    parser.add_argument("--json", type=Path, help="where to write the record of this code")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        differences: list[str] = []
        _compare(before, after, "", differences)
        for line in differences[:200]:
            print(line)
        pages = len(before.get("pages", {}))
        print(f"{pages} pages; {len(differences)} differences")
        return 1 if differences else 0
    if not args.scans or args.json is None:
        parser.error("give SCANS and --json, or --compare BEFORE AFTER")
    import ljun

    record = {"pages": _pages(args.scans), "batch": {}}
    for scans in args.scans:
        record["batch"][scans] = _batch([scans])
    args.json.write_text(json.dumps(record, indent=0, sort_keys=True), encoding="utf-8")
    print(f"{ljun.__file__}: {len(record['pages'])} pages -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
