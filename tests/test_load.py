"""Loading pages: formats, folders, and bad input that must not stop a batch."""

from __future__ import annotations

import inspect
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from ljun import load
from ljun.load import (
    DEFAULT_MAX_PIXELS,
    PDF_RENDER_DPI,
    PageLoadError,
    iter_file_pages,
    iter_pages,
    list_scan_files,
    to_gray,
)
from ljun.read import is_bilevel
from ljun.records import Page, PageFailure
from ljun.vocabulary import FailureReason


def _gray(height: int = 60, width: int = 40, value: int = 200) -> np.ndarray:
    image = np.full((height, width), value, np.uint8)
    image[10:20, 5:15] = 0
    return image


def _write_tiff(path: Path, pages: list[np.ndarray], **kwargs) -> Path:
    with tifffile.TiffWriter(path) as tif:
        for page in pages:
            tif.write(page, **kwargs)
    return path


def _pdf(path: Path, pages: int = 2, password: str | None = None) -> Path:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    encrypt = pdfencrypt.StandardEncryption(password, ownerPassword="owner") if password else None
    pdf = canvas.Canvas(str(path), pagesize=(72 * 2, 72 * 3), encrypt=encrypt)  # 2 x 3 inch pages
    for number in range(pages):
        pdf.rect(20, 20, 40, 40, fill=1)
        pdf.drawString(20, 150, f"page {number + 1}")
        pdf.showPage()
    pdf.save()
    return path


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )
    return path


def _tiff_header_only(path: Path, width: int, height: int) -> Path:
    """A little-endian TIFF whose only IFD claims ``width x height`` pixels."""
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: min-is-black
        (273, 4, 1, 8),  # StripOffsets
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, width * height),  # StripByteCounts
    ]
    ifd_offset = 8
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HHI", tag, kind, count)
        packed += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += packed
    ifd += struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + b"\0" * 64)
    return path


# --------------------------------------------------------------------------- formats


def test_multi_page_gray_tiff_is_read_page_by_page_with_its_dpi(tmp_path):
    pages = [_gray(value=v) for v in (200, 210, 220)]
    path = _write_tiff(
        tmp_path / "batch.tif",
        pages,
        compression="lzw",
        resolution=(200, 200),
        resolutionunit="INCH",
    )
    read = list(iter_file_pages(path))
    assert [p.page for p in read] == [1, 2, 3]
    assert all(isinstance(p, Page) and p.dpi == pytest.approx(200) for p in read)
    assert all(p.source == str(path) for p in read)
    for page, expected in zip(read, pages):
        assert page.image.dtype == np.uint8
        np.testing.assert_array_equal(page.image, expected)


def test_one_bit_group4_tiff_becomes_0_and_255(tmp_path):
    image = _gray(value=255)
    path = tmp_path / "bw.tif"
    Image.fromarray(image).convert("1").save(path, compression="group4", dpi=(300, 300))
    (page,) = iter_file_pages(path)
    assert set(np.unique(page.image)) == {0, 255}
    np.testing.assert_array_equal(page.image, np.where(image < 128, 0, 255))
    assert page.dpi == pytest.approx(300, abs=0.01)  # PNG stores dots per metre
    # The loader says so, and the reader then skips is_bilevel: it must agree.
    assert page.bilevel and is_bilevel(page.image)


def test_only_a_one_bit_page_is_said_to_be_bilevel(tmp_path):
    path = _write_tiff(tmp_path / "gray.tif", [_gray()])
    (page,) = iter_file_pages(path)
    assert not page.bilevel


def test_min_is_white_tiff_is_inverted_to_black_on_white(tmp_path):
    image = _gray(value=255)
    path = _write_tiff(tmp_path / "miniswhite.tif", [255 - image], photometric="miniswhite")
    (page,) = iter_file_pages(path)
    np.testing.assert_array_equal(page.image, image)


def test_rgb_tiff_and_resolution_in_centimetres(tmp_path):
    rgb = np.stack([_gray()] * 3, axis=-1)
    path = _write_tiff(
        tmp_path / "rgb.tif",
        [rgb],
        photometric="rgb",
        resolution=(80, 80),
        resolutionunit="CENTIMETER",
    )
    (page,) = iter_file_pages(path)
    assert page.image.shape == rgb.shape[:2]
    np.testing.assert_array_equal(page.image, _gray())
    assert page.dpi == pytest.approx(203.2)


def test_png_with_dpi_and_jpeg_without(tmp_path):
    Image.fromarray(_gray()).save(tmp_path / "a.png", dpi=(150, 150))
    Image.fromarray(np.stack([_gray()] * 3, axis=-1)).save(tmp_path / "b.jpg")
    (png,) = iter_file_pages(tmp_path / "a.png")
    (jpeg,) = iter_file_pages(tmp_path / "b.jpg")
    assert png.dpi == pytest.approx(150, abs=0.1) and png.page == 1
    assert jpeg.dpi is None  # no resolution recorded: registration infers the scale
    assert jpeg.image.ndim == 2 and jpeg.image.dtype == np.uint8


def test_pdf_pages_are_rasterised_one_by_one(tmp_path):
    path = _pdf(tmp_path / "scan.pdf", pages=2)
    read = list(iter_file_pages(path))
    assert [p.page for p in read] == [1, 2]
    assert all(p.dpi == PDF_RENDER_DPI for p in read)
    # 2 x 3 inch pages at PDF_RENDER_DPI
    assert read[0].image.shape == (3 * PDF_RENDER_DPI, 2 * PDF_RENDER_DPI)
    assert read[0].image.min() < 50 and np.median(read[0].image) > 200


def test_to_gray_handles_bool_uint16_and_rgba():
    assert to_gray(np.array([[True, False]])).tolist() == [[255, 0]]
    assert to_gray(np.array([[65535, 0]], np.uint16)).tolist() == [[255, 0]]
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 255
    assert to_gray(rgba).tolist() == [[255, 255], [255, 255]]
    with pytest.raises(PageLoadError):
        to_gray(np.zeros((2, 2, 7), np.uint8))


# --------------------------------------------------------------------------- folders


def test_folders_are_walked_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("b/2.png", "a/deep/1.TIF", "a/0.jpg", "b/.hidden.png", "b/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    explicit = tmp_path / "b" / "notes.txt"
    files = list_scan_files([tmp_path, explicit])
    relative = [str(f.relative_to(tmp_path)) for f in files]
    assert relative == ["a/0.jpg", "a/deep/1.TIF", "b/2.png", "b/notes.txt"]


def test_iter_pages_is_lazy():
    assert inspect.isgenerator(iter_pages(["does-not-matter.tif"]))


# --------------------------------------------------------------------------- bad input


def test_truncated_tiff_gives_its_good_pages_and_a_failure(tmp_path):
    pages = [np.full((64, 48), 40 * i, np.uint8) for i in range(4)]
    whole = _write_tiff(tmp_path / "whole.tif", pages, compression="zlib").read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(whole[: int(len(whole) * 0.8)])
    read = list(iter_file_pages(path))
    good = [p for p in read if isinstance(p, Page)]
    failures = [p for p in read if isinstance(p, PageFailure)]
    assert [p.page for p in good] == [1, 2, 3]
    assert len(failures) == 1 and failures[0].reason == "truncated" and failures[0].page == 4


def test_tiff_with_undecodable_pixels_is_a_page_failure(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (200, 150), dtype=np.uint8)
    data = bytearray(_write_tiff(tmp_path / "ok.tif", [image], compression="lzw").read_bytes())
    with tifffile.TiffFile(tmp_path / "ok.tif") as tif:
        start = tif.pages[0].dataoffsets[0]
    data[start : start + 2000] = b"\xff" * 2000
    (tmp_path / "bad.tif").write_bytes(bytes(data))
    (failure,) = iter_file_pages(tmp_path / "bad.tif")
    assert (
        isinstance(failure, PageFailure) and failure.reason == "corrupt_image" and failure.page == 1
    )


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.tif", b"", "empty_file"),
        ("text.tif", b"this is not an image at all\n", "unsupported_format"),
        ("garbage.pdf", b"%PDF-1.4\nnot really a pdf", "corrupt_pdf"),
    ],
)
def test_bad_files_give_one_failure_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    (failure,) = iter_file_pages(path)
    assert isinstance(failure, PageFailure)
    assert failure.reason == reason and failure.page == 0 and failure.source == str(path)
    assert str(path) in failure.detail


def test_missing_file_is_a_failure_not_an_exception(tmp_path):
    (failure,) = iter_pages([tmp_path / "nope.tif"])
    assert failure.reason == "not_found"


def test_encrypted_pdf_is_reported_as_such(tmp_path):
    path = _pdf(tmp_path / "locked.pdf", pages=1, password="rahasia")
    (failure,) = iter_file_pages(path)
    assert failure.reason == "encrypted_pdf"


def test_truncated_pdf_is_corrupt(tmp_path):
    data = _pdf(tmp_path / "ok.pdf", pages=2).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 3])
    (failure,) = iter_file_pages(tmp_path / "cut.pdf")
    assert failure.reason == "corrupt_pdf"


@pytest.mark.parametrize("writer", [_png_header_only, _tiff_header_only])
def test_oversize_image_is_refused_from_its_header(tmp_path, writer):
    path = writer(
        tmp_path / ("huge.png" if writer is _png_header_only else "huge.tif"), 20000, 20000
    )
    (failure,) = iter_file_pages(path)
    assert failure.reason == "too_large"
    assert "400000000" in failure.detail.replace(",", "") or "20000 x 20000" in failure.detail


def test_max_pixels_applies_to_pdf_pages_before_rasterising(tmp_path):
    path = _pdf(tmp_path / "scan.pdf", pages=2)
    failures = list(iter_file_pages(path, max_pixels=1000))
    assert [f.reason for f in failures] == ["too_large", "too_large"]
    assert DEFAULT_MAX_PIXELS > 7016 * 9921  # an A3 page at 600 dpi is still accepted


def test_a_batch_with_bad_files_still_reads_every_good_page(tmp_path):
    good = _write_tiff(tmp_path / "1-good.tif", [_gray(), _gray()])
    (tmp_path / "2-empty.tif").write_bytes(b"")
    (tmp_path / "3-text.tif").write_bytes(b"hello")
    _pdf(tmp_path / "4-locked.pdf", pages=1, password="x")
    Image.fromarray(_gray()).save(tmp_path / "5-good.png")
    results = list(iter_pages([tmp_path]))
    pages = [(Path(r.source).name, r.page) for r in results if isinstance(r, Page)]
    reasons = [(Path(r.source).name, r.reason) for r in results if isinstance(r, PageFailure)]
    assert pages == [(good.name, 1), (good.name, 2), ("5-good.png", 1)]
    assert reasons == [
        ("2-empty.tif", "empty_file"),
        ("3-text.tif", "unsupported_format"),
        ("4-locked.pdf", "encrypted_pdf"),
    ]


def _gray_jpeg_bytes(dpi: int | None = 200) -> tuple[np.ndarray, bytes]:
    rng = np.random.default_rng(7)
    pixels = np.clip(rng.normal(200, 30, (240, 180)), 0, 255).astype(np.uint8)
    pixels[60:120, 40:100] = 20  # a dark square: something to cut through
    buffer = io.BytesIO()
    options = {"dpi": (dpi, dpi)} if dpi else {}
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90, **options)
    return pixels, buffer.getvalue()


def test_gray_jpeg_is_decoded_by_opencv_with_pillows_pixels_and_dpi(tmp_path):
    _, data = _gray_jpeg_bytes()
    (tmp_path / "a.jpg").write_bytes(data)
    # Zero padding after the end-of-image marker (some scanners write whole blocks).
    (tmp_path / "padded.jpg").write_bytes(data + bytes(300))
    with Image.open(tmp_path / "a.jpg") as image:
        expected = np.asarray(image)
    for name in ("a.jpg", "padded.jpg"):
        (page,) = iter_file_pages(tmp_path / name)
        assert isinstance(page, Page)
        assert page.dpi == pytest.approx(200)
        np.testing.assert_array_equal(page.image, expected)
    assert load._gray_by_opencv(str(tmp_path / "padded.jpg"), "JPEG", "L") is not None


def test_cut_gray_jpeg_is_left_to_pillow_and_reported_as_truncated(tmp_path):
    _, data = _gray_jpeg_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert load._gray_by_opencv(str(cut), "JPEG", "L") is None
    (failure,) = iter_file_pages(cut)
    assert isinstance(failure, PageFailure)
    assert failure.reason == FailureReason.CORRUPT_IMAGE
    assert "truncated" in failure.detail


@pytest.mark.parametrize("mode", ["1", "L"])
def test_gray_png_by_opencv_and_one_bit_png_by_pillow_have_pillows_pixels(tmp_path, mode):
    pixels, _ = _gray_jpeg_bytes()
    path = tmp_path / "a.png"
    Image.fromarray(pixels).convert(mode).save(path, dpi=(300, 300))
    with Image.open(path) as image:
        expected = to_gray(np.asarray(image))
    # 8-bit gray by OpenCV; 1-bit by Pillow, whose decoder is the faster there.
    assert (load._gray_by_opencv(str(path), "PNG", mode) is not None) == (mode == "L")
    (page,) = iter_file_pages(path)
    assert page.dpi == pytest.approx(300, abs=0.01)  # PNG stores dots per metre
    np.testing.assert_array_equal(page.image, expected)
    assert page.image.dtype == np.uint8 and page.image.flags.c_contiguous
    # A 1-bit PNG holds only 0 and 255: the loader says so, and it must agree
    # with is_bilevel, which the reader then skips.
    assert page.bilevel == (mode == "1")
    if mode == "1":
        assert is_bilevel(page.image)
    # Cut before its end chunk: left to Pillow, which reports it.
    cut = tmp_path / "cut.png"
    cut.write_bytes(path.read_bytes()[:-40])
    assert load._gray_by_opencv(str(cut), "PNG", mode) is None
    (failure,) = iter_file_pages(cut)
    assert isinstance(failure, PageFailure)


def test_one_bit_png_reads_as_opencv_decoded_it(tmp_path):
    """The 1-bit PNG loader moved from OpenCV to Pillow: the same 0/255 pixels
    as OpenCV's decode of the same file (a generated 200-dpi sheet, every
    kind of 1-bit scan a sample set makes)."""
    import cv2

    from ljun.samples import generate_sheets
    from ljun.template import load_template

    sheets = generate_sheets(
        load_template("ljun-teori-kejuruan"),
        count=3,
        seed=17,
        level="hard",
        dpi=200,
        bits=1,
        include_special_pages=False,
    )
    for number, sheet in enumerate(sheets):
        path = tmp_path / f"{number}.png"
        Image.fromarray(sheet.image).convert("1", dither=Image.Dither.NONE).save(path)
        by_opencv = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_GRAYSCALE)
        (page,) = iter_file_pages(path)
        assert page.bilevel
        np.testing.assert_array_equal(page.image, by_opencv)


# --------------------------------------------------------------------------- 1-bit CCITT by libtiff


def _bilevel_page(height: int = 157, width: int = 203) -> np.ndarray:
    """A 0/255 page with solid areas and a row band of noise (every run length)."""
    rng = np.random.default_rng(17)
    page = np.full((height, width), 255, np.uint8)
    page[20:60, 30:90] = 0
    page[100:110] = np.where(rng.random((10, width)) < 0.5, 0, 255)
    return page


def _ccitt_strips(page: np.ndarray, rows_per_strip: int, compression: str) -> tuple[list, int]:
    """Each band of ``rows_per_strip`` rows CCITT-encoded by Pillow (libtiff), and
    the T4/T6Options it wrote; the strip's 1 bits are white (Pillow's mode "1")."""
    strips, options = [], 0
    for top in range(0, page.shape[0], rows_per_strip):
        buffer = io.BytesIO()
        Image.fromarray(page[top : top + rows_per_strip]).convert("1").save(
            buffer, format="TIFF", compression=compression
        )
        with tifffile.TiffFile(io.BytesIO(buffer.getvalue())) as tif:
            page_ = tif.pages[0]
            (offset,), (count,) = page_.dataoffsets, page_.databytecounts
            options = int(page_.tags.valueof(292, 0) or page_.tags.valueof(293, 0))
        strips.append(buffer.getvalue()[offset : offset + count])
    return strips, options


def _write_bilevel_tiff(
    path: Path,
    strips: list[bytes],
    *,
    width: int,
    height: int,
    rows_per_strip: int,
    compression: int,
    photometric: int,
    fill_order: int,
    options: int,
) -> Path:
    """A big-endian one-page 1-bit TIFF around ``strips``, tags written by hand
    (tifffile writes no CCITT file, Pillow no FillOrder 2)."""
    one = len(strips) == 1  # one strip: its offset and count are in the entries themselves
    offsets_at = 8
    counts_at = offsets_at + 4 * len(strips)
    data_at = counts_at + 4 * len(strips)
    starts = data_at + np.concatenate(([0], np.cumsum([len(s) for s in strips])[:-1]))
    ifd_at = int(data_at + sum(len(s) for s in strips))
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 1),
        (259, 3, 1, compression),
        (262, 3, 1, photometric),
        (266, 3, 1, fill_order),
        (273, 4, len(strips), int(starts[0]) if one else offsets_at),
        (277, 3, 1, 1),
        (278, 4, 1, rows_per_strip),
        (279, 4, len(strips), len(strips[0]) if one else counts_at),
        (292 if compression == 3 else 293, 4, 1, options),
    ]
    out = b"MM\x00*" + struct.pack(">I", ifd_at)
    out += struct.pack(f">{len(strips)}I", *starts)
    out += struct.pack(f">{len(strips)}I", *(len(s) for s in strips))
    out += b"".join(strips) + struct.pack(">H", len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack(
            ">HHIHH" if kind == 3 else ">HHII", tag, kind, count, value, *[0][: kind == 3]
        )
    path.write_bytes(out + struct.pack(">I", 0))
    return path


def _reversed_bits(strip: bytes) -> bytes:
    """FillOrder 2: a byte's first pixel in its low bit."""
    bits = np.unpackbits(np.frombuffer(strip, np.uint8))
    return np.packbits(bits, bitorder="little").tobytes()


@pytest.mark.parametrize("compression", ["group4", "group3"])
@pytest.mark.parametrize("photometric", [0, 1])  # MinIsWhite, MinIsBlack
@pytest.mark.parametrize("fill_order", [1, 2])
@pytest.mark.parametrize("rows_per_strip", [40, 157])  # four strips (the last short), one
def test_one_bit_ccitt_tiff_is_decoded_by_libtiff_with_tifffiles_pixels(
    tmp_path, compression, photometric, fill_order, rows_per_strip
):
    """Every layout a black-and-white scanner may write (odd width, not a multiple
    of 8): libtiff's pixels are those of the tifffile decode ljun used before."""
    page = _bilevel_page()
    height, width = page.shape
    strips, options = _ccitt_strips(page, rows_per_strip, compression)
    if fill_order == 2:
        strips = [_reversed_bits(strip) for strip in strips]
    path = _write_bilevel_tiff(
        tmp_path / "bw.tif",
        strips,
        width=width,
        height=height,
        rows_per_strip=rows_per_strip,
        compression={"group3": 3, "group4": 4}[compression],
        photometric=photometric,
        fill_order=fill_order,
        options=options,
    )
    # The strips' 1 bits are white: a MinIsWhite file shows the page inverted.
    expected = page if photometric == 1 else 255 - page
    with tifffile.TiffFile(path) as tif:
        tiff_page = tif.pages[0]
        assert (tiff_page.fillorder, len(tiff_page.dataoffsets)) == (
            fill_order,
            -(-height // rows_per_strip),
        )
        by_libtiff = load._tiff_fax_gray(tiff_page, photometric)
        assert by_libtiff is not None  # not left to tifffile
        np.testing.assert_array_equal(by_libtiff, expected)
        by_tifffile = to_gray(tiff_page.asarray())  # as ljun decoded it before
        np.testing.assert_array_equal(by_tifffile if photometric else 255 - by_tifffile, expected)
    (loaded,) = iter_file_pages(path)
    assert isinstance(loaded, Page) and loaded.image.dtype == np.uint8
    np.testing.assert_array_equal(loaded.image, expected)


def _damaged_g4_tiff(path: Path) -> Path:
    """A one-page Group 4 TIFF whose second strip is overwritten from its first third on."""
    page = _bilevel_page()
    height, width = page.shape
    strips, options = _ccitt_strips(page, 40, "group4")
    damaged = bytearray(strips[1])
    damaged[len(damaged) // 3 :] = b"\xff" * (len(damaged) - len(damaged) // 3)
    strips[1] = bytes(damaged)
    return _write_bilevel_tiff(
        path,
        strips,
        width=width,
        height=height,
        rows_per_strip=40,
        compression=4,
        photometric=1,
        fill_order=1,
        options=options,
    )


def test_a_damaged_group4_page_is_a_corrupt_image_not_garbage(tmp_path):
    """libtiff refuses a damaged Group 4 strip where tifffile's decoder reads on
    and gives garbage rows (which the reader could take for marks): the page
    is a load failure that names the file and page, as any corrupt image."""
    path = _damaged_g4_tiff(tmp_path / "damaged.tif")
    with tifffile.TiffFile(path) as tif:
        garbage = to_gray(tif.pages[0].asarray())  # tifffile reads it without a word
    assert garbage.shape == _bilevel_page().shape
    (failure,) = iter_file_pages(path)
    assert isinstance(failure, PageFailure)
    assert failure.reason == "corrupt_image" and failure.page == 1
    assert "damaged.tif page 1" in failure.detail and "damaged" in failure.detail


def test_where_libtiff_reads_no_group4_a_refused_page_is_read_as_before(tmp_path, monkeypatch):
    """A libtiff that decodes no Group 4 at all (a build without CCITT codecs)
    says nothing of the data: the page is decoded by tifffile as before."""
    import ljun._fax

    assert ljun._fax.libtiff_reads_group4()  # this machine's imagecodecs does
    monkeypatch.setattr(ljun._fax, "libtiff_reads_group4", lambda: False)
    path = _damaged_g4_tiff(tmp_path / "damaged.tif")
    with tifffile.TiffFile(path) as tif:
        assert load._tiff_fax_gray(tif.pages[0], 1) is None
        before = to_gray(tif.pages[0].asarray())
    (loaded,) = iter_file_pages(path)
    assert isinstance(loaded, Page)
    np.testing.assert_array_equal(loaded.image, before)
