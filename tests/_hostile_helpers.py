"""Builders of damaged inputs for the hostile tests (tests/test_hostile_*.py)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCANS = REPO_ROOT / "samples" / "scans"
#: A 14-page Group 4 TIFF of generated LJUN sheets (samples/scans/README.md).
SAMPLE_TIFF = SCANS / "amplop-002.tif"
SAMPLE_TIFF_PAGES = 14
KEYS = [SCANS / "paketA.json", SCANS / "paketB.json", SCANS / "susulan.json"]


def key_args() -> list[str]:
    """``--key FILE`` for the three sample keys."""
    return [arg for key in KEYS for arg in ("--key", str(key))]


def tiff_ifd_offsets(data: bytes) -> list[int]:
    """Offsets of the page directories of a classic little- or big-endian TIFF."""
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    offsets = []
    while offset:
        offsets.append(offset)
        count = struct.unpack(order + "H", data[offset : offset + 2])[0]
        offset = struct.unpack(
            order + "I", data[offset + 2 + 12 * count : offset + 6 + 12 * count]
        )[0]
    return offsets


def corrupt_tiff_page_directory(data: bytes, page: int) -> bytes:
    """``data`` with page ``page``'s directory overwritten (entry count 0xFFFF)."""
    offset = tiff_ifd_offsets(data)[page - 1]
    return data[:offset] + b"\xff\xff" + data[offset + 2 :]


def _page_objects(first: int, parent: int, count: int, label: int) -> dict[int, bytes]:
    objects = {}
    for i in range(count):
        page, content = first + 2 * i, first + 2 * i + 1
        stream = f"0 g 20 20 40 40 re f BT /F1 12 Tf 20 150 Td (page {label + i}) Tj ET".encode()
        objects[page] = (
            f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 144 216] "
            f"/Contents {content} 0 R >>"
        ).encode()
        objects[content] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    return objects


def _pdf_section(objects: dict[int, bytes], base: int, size: int, prev: int | None) -> bytes:
    body, offsets = b"", {}
    for number in sorted(objects):
        offsets[number] = base + len(body)
        body += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref_at = base + len(body)
    xref = b"xref\n0 1\n0000000000 65535 f \n"
    for number in sorted(objects):
        xref += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    trailer = f"trailer\n<< /Size {size} /Root 1 0 R" + (f" /Prev {prev}" if prev else "") + " >>\n"
    return body + xref + trailer.encode() + b"startxref\n%d\n%%%%EOF\n" % xref_at


def incremental_pdf(first: int, more: int) -> bytes:
    """A PDF of ``first`` pages, then an incremental update adding ``more`` pages.

    Cut inside the update, poppler falls back on the first revision and
    finds ``first`` pages without a word: the silent loss of issue 10.
    """
    head = b"%PDF-1.4\n"
    objects = _page_objects(3, 2, first, 1)
    kids = sorted(objects)[::2]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {first} >>".encode()
    )
    size = 3 + 2 * first
    data = head + _pdf_section(objects, len(head), size, None)
    if more:
        first_xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
        update = _page_objects(size, 2, more, first + 1)
        kids += sorted(update)[::2]
        update[2] = (
            f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {first + more} >>"
        ).encode()
        data += _pdf_section(update, len(data), size + 2 * more, first_xref)
    return data


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
