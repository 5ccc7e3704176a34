"""``ljun template render|geometry|check``: work with sheet designs."""

from __future__ import annotations

import json
from pathlib import Path

import click

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


COMMANDS = [template]
