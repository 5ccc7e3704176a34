"""``ljun template render|geometry|check|from-scan``: work with sheet designs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click
import numpy as np
from PIL import Image

from ..errors import TemplateError
from ..render import RENDER_FORMATS, write_sheet
from ..template import load_template

__all__ = ["COMMANDS", "template"]

TEMPLATE_HELP = (
    "TEMPLATE is a template JSON file, or the id of a bundled one in "
    "templates/answer_sheets/ (for example ljun-teori-kejuruan)."
)


@click.group()
def template() -> None:
    """Render, measure and check answer-sheet templates.

    A template is a JSON design (millimetres on a named paper size) of one
    answer sheet: fiducials, bubble grids, barcode area and printed labels.
    """


@template.command()
@click.argument("template_name", metavar="TEMPLATE")
@click.option(
    "--dpi",
    type=click.IntRange(50, 1200),
    default=200,
    show_default=True,
    help="Resolution of PNG/TIFF output (PDF is vector and ignores it).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help=f"Output file; the suffix picks the format: {', '.join(RENDER_FORMATS)}.",
)
@click.option(
    "--barcode",
    default=None,
    metavar="TEXT",
    help="Print TEXT as a Code 128 barcode in the sheet's barcode area.",
)
def render(template_name: str, dpi: int, out: Path, barcode: str | None) -> None:
    """Write a printable blank sheet: vector PDF, or PNG/TIFF at --dpi.

    \b
    Example:
      ljun template render ljun-teori-kejuruan --out ljun.pdf
      ljun template render ljun-teori-kejuruan --dpi 300 --out ljun.png --barcode TK-A-0001
    """
    sheet = load_template(template_name)
    path = write_sheet(sheet, out, dpi=dpi, barcode=barcode)
    click.echo(f"wrote {path}")


render.help = f"{render.help}\n\n{TEMPLATE_HELP}"


@template.command()
@click.argument("template_name", metavar="TEMPLATE")
@click.option(
    "--dpi",
    type=click.IntRange(50, 1200),
    default=200,
    show_default=True,
    help="Resolution the pixel coordinates are given at.",
)
def geometry(template_name: str, dpi: int) -> None:
    """Print the pixel position of every bubble as JSON on stdout.

    The JSON is {"template", "dpi", "width", "height", "bubbles": [{"field",
    "item", "option", "x", "y", "r"}, ...]}: bubble centres and radii in the
    sheet rendered at --dpi, pixel centres at integer coordinates.
    """
    sheet = load_template(template_name)
    document = sheet.geometry(dpi).to_json()
    bubbles = document.pop("bubbles")
    # One bubble per line: greppable, and `| head` shows the start of the list.
    header = json.dumps(document)[:-1]
    lines = ",\n".join(f"  {json.dumps(b)}" for b in bubbles)
    click.echo(f'{header},\n "bubbles": [\n{lines}\n]}}')


@template.command()
@click.argument("template_name", metavar="TEMPLATE")
def check(template_name: str) -> int:
    """Validate a template and list every problem found.

    Checks the JSON against the schema (naming the JSON path and the fix),
    then bubbles off the page or overlapping, duplicate fields, missing
    fiducials and fiducials that look the same upside down.  Exit code 0
    when the template is usable, 1 when it has problems.
    """
    try:
        sheet = load_template(template_name)
    except TemplateError as exc:
        click.echo(str(exc), err=True)
        return 1
    n_bubbles = len(sheet.geometry(200))
    click.echo(
        f"{sheet.path}: ok — {len(sheet.fields)} fields, {n_bubbles} bubbles, "
        f"{len(sheet.fiducials)} fiducials, paper {sheet.paper_size}"
    )
    return 0


@template.command("from-scan")
@click.argument("blank", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The template JSON to write (its name gives the id unless --id).",
)
@click.option("--id", "template_id", default=None, help="Template id (default: from --out).")
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Preview PNG (default: NEW.preview.png beside --out).",
)
@click.option(
    "--dpi",
    type=click.FloatRange(50, 1200),
    default=None,
    help="Resolution of BLANK when the file does not record it (else guessed from an A4 page).",
)
def from_scan(
    blank: Path, out: Path, template_id: str | None, preview: Path | None, dpi: float | None
) -> int:
    """Propose a template from a scan (or the master PDF) of a blank sheet.

    BLANK (PNG, JPEG, TIFF or PDF; the first page) must show the blank sheet
    upright; a few degrees of skew and a dark scanner background are fine.
    Finds the corner marks, a timing track and every printed bubble, groups
    the bubbles into grids (rows of A-E are answers, numbered down each block
    and then across; 10-row digit columns; 26-row letter columns; a short
    column is the paket), names them after the LJUN fields, and writes the
    template and a preview PNG with every bubble outlined and numbered.
    Check the preview by eye, edit names and titles in the JSON, then run
    `ljun template check` and `ljun template render` to compare.  Exit code 0
    when the proposal passes the template checks, 1 when it has problems
    (they are listed), 2 when BLANK cannot be read.

    \b
    Example:
      ljun template from-scan kosong.pdf --out templates/answer_sheets/ljk-kita.json
    """
    from .._fromscan import draw_preview, propose_template, template_id_from
    from .._io import atomic_write, atomic_write_bytes
    from ..errors import LjunError
    from ..load import iter_file_pages
    from ..records import PageFailure
    from ..template import MM_PER_INCH, check_template, parse_template

    first = next(iter(iter_file_pages(blank)), None)
    if first is None or isinstance(first, PageFailure):
        detail = first.detail if first is not None else f"{blank}: no page"
        raise LjunError(f"cannot read the blank sheet: {detail}")
    image = first.image
    resolution = dpi or first.dpi
    if not resolution:
        # About one A4 page, as registration guesses it.
        resolution = float(np.sqrt(image.size / ((210 / MM_PER_INCH) * (297 / MM_PER_INCH))))
    ident = template_id or template_id_from(out.name)
    proposal = propose_template(image, resolution, template_id=ident)
    if not proposal.document["fields"]:
        raise LjunError(f"{blank}: {proposal.notes[-1]}")
    with atomic_write(out, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(proposal.document, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    problems: list[str] = []
    geometry: dict[str, Any] = {"bubbles": []}
    try:
        proposed = parse_template(proposal.document, source=str(out))
        problems = check_template(proposed)
        geometry = proposed.geometry(resolution).to_json()
    except TemplateError as exc:
        problems = list(exc.args[1]) if len(exc.args) > 1 else [str(exc)]
    preview_path = preview or out.with_suffix(".preview.png")
    buffer = io.BytesIO()
    Image.fromarray(draw_preview(proposal, geometry)).save(buffer, format="PNG")
    atomic_write_bytes(preview_path, buffer.getvalue())
    fields = ", ".join(
        f"{f['name']} ({sum(b['items'] for b in f['blocks'])})" for f in proposal.document["fields"]
    )
    click.echo(
        f"wrote {out}: {fields}; {len(proposal.document['fiducials'])} corner marks"
        + (", a timing track" if "timing_track" in proposal.document else "")
    )
    click.echo(f"wrote {preview_path}: check every bubble is outlined and numbered as printed")
    for note in proposal.notes:
        click.echo(f"check: {note}", err=True)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    return 1 if problems else 0


COMMANDS = [template]
