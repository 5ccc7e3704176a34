"""Scanner PDFs: the embedded image taken as it is; other pages rendered."""

from __future__ import annotations

import json

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from ljun.load import PDF_RENDER_DPI, iter_file_pages
from ljun.read import is_bilevel
from ljun.records import Page


def _image_pdf(path, images, dpi):
    """A PDF of image pages, as a scanner writes it (Pillow: JPEG or CCITT G4 per page)."""
    pil = [Image.fromarray(image) for image in images]
    pil = [im.convert("1") if set(np.unique(a)) <= {0, 255} else im for im, a in zip(pil, images)]
    pil[0].save(path, format="PDF", resolution=float(dpi), save_all=True, append_images=pil[1:])
    return path


def _gray_page(seed: int, shape=(300, 200)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = np.full(shape, 235, np.uint8)
    page[40:80, 30:70] = 20  # a corner mark
    page[150:160, :] = rng.integers(0, 255, (10, shape[1]), dtype=np.uint8)
    return page


def test_jpeg_page_is_the_embedded_image_at_its_own_resolution(tmp_path):
    pages = [_gray_page(1), _gray_page(2)]
    path = _image_pdf(tmp_path / "scan.pdf", pages, dpi=150)
    loaded = list(iter_file_pages(path))
    assert [type(p) for p in loaded] == [Page, Page]
    for page, original in zip(loaded, pages):
        assert isinstance(page, Page)
        assert page.image.shape == original.shape and page.image.dtype == np.uint8
        assert page.dpi is not None and abs(page.dpi - 150) < 0.5
        # JPEG is lossy: close to the original, not equal.
        assert np.abs(page.image.astype(int) - original).mean() < 3


def test_bilevel_page_decodes_to_the_exact_pixels(tmp_path):
    page = np.where(_gray_page(3) < 128, 0, 255).astype(np.uint8)
    path = _image_pdf(tmp_path / "bw.pdf", [page], dpi=200)
    with pdfium.PdfDocument(path) as document:
        (image,) = document[0].get_objects()
        assert "CCITTFaxDecode" in image.get_filters()
    (loaded,) = iter_file_pages(path)
    assert isinstance(loaded, Page)
    assert np.array_equal(loaded.image, page)
    assert loaded.dpi is not None and abs(loaded.dpi - 200) < 0.5


def test_page_that_is_not_a_single_image_is_rendered(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "form.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(72 * 2, 72 * 3))  # 2 x 3 inch
    pdf.rect(20, 20, 40, 40, fill=1)
    pdf.drawString(20, 150, "not a scan")
    pdf.save()
    (loaded,) = iter_file_pages(path)
    assert isinstance(loaded, Page)
    assert loaded.dpi == PDF_RENDER_DPI
    assert loaded.image.shape == (3 * PDF_RENDER_DPI, 2 * PDF_RENDER_DPI)
    assert loaded.image.min() < 50 and loaded.image.max() > 200


def test_page_range_reads_only_those_pages(tmp_path):
    path = _image_pdf(tmp_path / "scan.pdf", [_gray_page(k) for k in range(4)], dpi=100)
    numbers = [p.page for p in iter_file_pages(path, pages=range(1, 3))]
    assert numbers == [2, 3]


def test_bundled_scanner_pdf_reads_as_its_truth(repo_root, ljun_template):
    from ljun.calibration import load_calibration
    from ljun.pipeline import read_sheet

    folder = repo_root / "samples" / "scans"
    truth = {
        (line["source"], line["page"]): line
        for line in map(json.loads, (folder / "truth.jsonl").read_text().splitlines())
    }
    calibration = load_calibration()
    pages = list(iter_file_pages(folder / "amplop-001.pdf", pages=range(0, 3)))
    assert len(pages) == 3
    for page in pages:
        assert isinstance(page, Page) and abs((page.dpi or 0) - 200) < 0.5
        reading = read_sheet(page, ljun_template, calibration)
        expected = truth[("amplop-001.pdf", page.page)]
        assert reading.nomor_peserta == expected["nomor_peserta"]
        assert list(reading.answers) == expected["answers"]


def _fax_pdf(path, stream: bytes, width: int, height: int, entries: str) -> None:
    """A one-page PDF of one CCITT image whose dictionary holds ``entries``
    (/Filter and /DecodeParms; written by hand: Pillow always writes the same)."""
    content = f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
        "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>".encode(),
        f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
        f"/BitsPerComponent 1 /ColorSpace /DeviceGray {entries} "
        f"/Length {len(stream)} >>\nstream\n".encode()
        + stream
        + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
        f"<< /K -1 /Columns {width} /Rows {height} /BlackIs1 true >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))


def test_group4_pages_decode_as_pdfium_decodes_them_whatever_their_parameters(tmp_path):
    """ljun decodes CCITT Group 4 pages itself (faster than PDFium) when it
    understands the image's parameters; the pixels must be PDFium's either way."""
    from ljun._fax import fax_gray
    from ljun._pdf import fax_parameters, page_image

    page = np.where(_gray_page(4, shape=(200, 96)) < 128, 0, 255).astype(np.uint8)
    pillow = _image_pdf(tmp_path / "pillow.pdf", [page], dpi=72)
    with pdfium.PdfDocument(pillow) as document:
        (image,) = document[0].get_objects()
        stream = bytes(image.get_data(decode_simple=False))
    height, width = page.shape
    parms = f"/K -1 /Columns {width} /Rows {height}"
    fax = "/Filter /CCITTFaxDecode /DecodeParms"
    variants = {
        # name: (dictionary entries, parameters understood by ljun)
        "BlackIs1 true": (f"{fax} << {parms} /BlackIs1 true >>", True),
        "BlackIs1 absent": (f"{fax} << {parms} >>", True),
        "arrays, BlackIs1 false": (
            f"/Filter [/CCITTFaxDecode] /DecodeParms [<< {parms} /BlackIs1 false >>]",
            True,
        ),
        "Decode inverted": (f"{fax} << {parms} /BlackIs1 true >> /Decode [1 0]", True),
        # PDFium takes no parameters from an array that does not go with the filter's name.
        "array for a name": (f"{fax} [<< {parms} /BlackIs1 true >>]", False),
        "parameters by reference": (f"{fax} 6 0 R", False),
        # "obj" ending a name: where the dictionary starts is not sure.
        "a name ending in obj": (f"/Pageobj 1 {fax} << {parms} /BlackIs1 true >>", False),
        "one after": (f"{fax} << {parms} /BlackIs1 true >> /Pageobj 1", True),
        "Group 3": (f"{fax} << /K 0 /Columns {width} /Rows {height} >>", False),
        # Understood, but not the image's width: PDFium decodes it.
        "other width": (f"{fax} << /K -1 /Columns {width + 8} /BlackIs1 true >>", True),
    }
    looks = set()
    for name, (entries, understood) in variants.items():
        path = tmp_path / f"{name}.pdf"
        _fax_pdf(path, stream, width, height, entries)
        assert (fax_parameters(path)(stream) is not None) == understood, name
        with pdfium.PdfDocument(path) as document:
            expected, _, _ = page_image(document, 0, 1 << 30, where=name)  # by PDFium
        (loaded,) = iter_file_pages(path)
        assert isinstance(loaded, Page), name
        assert np.array_equal(loaded.image, expected), name
        looks.add(loaded.image.tobytes())
        parameters = fax_parameters(path)(stream)
        # Decoded by ljun, the page is said to be 0/255 (the reader skips
        # is_bilevel then): it must be; decoded by PDFium it is not said to be.
        decoded_here = parameters is not None and parameters.columns == width
        assert loaded.bilevel == decoded_here, name
        assert not loaded.bilevel or is_bilevel(loaded.image), name
        if parameters is not None and parameters.columns == width:
            # ljun's own decoder for these: libtiff, the stream as a TIFF strip
            by_libtiff = fax_gray(
                [stream],
                width=width,
                height=height,
                rows_per_strip=height,
                compression=4,
                white_is_1=parameters.white_is_1,
            )
            assert np.array_equal(by_libtiff, expected), name
    # The parameters matter: the page is read both ways round.
    assert len(looks) >= 2
    assert any(
        np.array_equal(np.frombuffer(look, np.uint8).reshape(page.shape), page) for look in looks
    )


def test_group4_pages_of_odd_width_decode_to_the_exact_pixels(tmp_path):
    """Rows that do not end on a byte (203 pixels), several pages."""
    pages = [
        np.where(_gray_page(seed, shape=(171, 203)) < 128, 0, 255).astype(np.uint8)
        for seed in (5, 6)
    ]
    path = _image_pdf(tmp_path / "odd.pdf", pages, dpi=200)
    loaded = list(iter_file_pages(path))
    assert [type(p) for p in loaded] == [Page, Page]
    for page, original in zip(loaded, pages):
        assert isinstance(page, Page)
        assert np.array_equal(page.image, original)
    from ljun._fax import fax_gray
    from ljun._pdf import fax_parameters

    with pdfium.PdfDocument(path) as document:
        for index, original in enumerate(pages):
            (image,) = document[index].get_objects()
            stream = bytes(image.get_data(decode_simple=False))
            parameters = fax_parameters(path)(stream)
            assert parameters is not None  # decoded by libtiff, not left to PDFium
            by_libtiff = fax_gray(
                [stream],
                width=203,
                height=171,
                rows_per_strip=171,
                compression=4,
                white_is_1=parameters.white_is_1,
            )
            assert np.array_equal(by_libtiff, original)


def test_group4_stream_libtiff_refuses_is_decoded_as_before(tmp_path):
    """A damaged CCITT stream: libtiff refuses it, and imagecodecs' own decoder
    reads it as it did before libtiff was tried (it reads on past the damage)."""
    import imagecodecs

    from ljun._fax import FaxDecodeError, fax_gray

    page = np.where(_gray_page(7, shape=(200, 96)) < 128, 0, 255).astype(np.uint8)
    pillow = _image_pdf(tmp_path / "pillow.pdf", [page], dpi=72)
    with pdfium.PdfDocument(pillow) as document:
        (image,) = document[0].get_objects()
        stream = bytearray(image.get_data(decode_simple=False))
    stream[len(stream) // 2 :] = b"\xff" * (len(stream) - len(stream) // 2)
    height, width = page.shape
    parms = f"/K -1 /Columns {width} /Rows {height} /BlackIs1 true"
    path = tmp_path / "damaged.pdf"
    _fax_pdf(
        path, bytes(stream), width, height, f"/Filter /CCITTFaxDecode /DecodeParms << {parms} >>"
    )
    with pytest.raises(FaxDecodeError):
        fax_gray(
            [bytes(stream)],
            width=width,
            height=height,
            rows_per_strip=height,
            compression=4,
            white_is_1=True,
        )
    before = imagecodecs.ccittfax4_decode(bytes(stream), height=height, width=width) * np.uint8(255)
    (loaded,) = iter_file_pages(path)
    assert isinstance(loaded, Page)
    assert np.array_equal(loaded.image, before)
