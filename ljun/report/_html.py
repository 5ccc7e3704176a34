"""The report as one self-contained HTML page: inline CSS, plots as inline SVG.

Nothing is loaded from elsewhere (no CDN, no script, no external file), so
the page opens offline, on a phone (tables scroll sideways, plots shrink)
and prints on A4.  Every text that comes from outside ljun — file names,
labels, flags — is HTML-escaped.  Plots are drawn with matplotlib's
object API (``Figure``, no ``pyplot``): no GUI backend, no global figure
state, nothing shown on a screen.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from .._io import atomic_write
from ..numbers import round_half_up
from ._analysis import (
    HISTOGRAM_BIN_WIDTH,
    MIN_SHEETS_FOR_FLAGS,
    VERY_EASY_ABOVE,
    VERY_HARD_BELOW,
    GroupReport,
    ItemAnalysis,
    ItemFlag,
    Report,
    UnitReport,
    item_flag_text,
)
from ._stats import CATEGORIES, OPTIONS

__all__ = ["render_html", "write_html", "format_number"]

# Sizes of the plots in inches (matplotlib's unit) and of their text in points;
# the page scales the plots to its width, so a smaller plot has larger text.
_PLOT_WIDTH = 5.0
_HISTOGRAM_SIZE = (_PLOT_WIDTH, 2.6)
_ITEM_MAP_SIZE = (_PLOT_WIDTH, 3.4)
_ENVELOPE_ROW_INCHES = 0.2
_ENVELOPE_MIN_INCHES = 1.6
# Envelopes shown as box plots at most (one row each); more get a scatter of
# their means, naming this many of the most unusual.
_MAX_BOX_PLOTS = 40
_LABELLED_ENVELOPES = 5
_FONT_POINTS = 9
_LABEL_POINTS = 7
# The item map's vertical axis starts here, lower only if an item's r is lower.
_ITEM_MAP_R_FLOOR = -0.4

# Colours: the one for flagged things matches the page's CSS.
_BAR_COLOUR = "#4c78a8"
_FLAG_COLOUR = "#c0392b"
_BAND_COLOUR = "#eeeeee"

_CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; }
body { margin: 0; background: #fff; line-height: 1.4; }
main { max-width: 64rem; margin: 0 auto; padding: 0.75rem; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; }
h2 { font-size: 1.25rem; margin: 1.6rem 0 0.4rem; border-bottom: 2px solid #4c78a8; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.3rem; }
p.meta { color: #555; margin: 0 0 0.8rem; font-size: 0.9rem; overflow-wrap: anywhere; }
.banner, .ok { padding: 0.5rem 0.75rem; margin: 0.6rem 0; }
.banner { border-left: 4px solid #c0392b; background: #fdf0ee; }
.ok { border-left: 4px solid #2e7d32; background: #eef7ee; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.3rem 0; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d0d0; padding: 0.15rem 0.4rem; text-align: right; }
th, td { white-space: nowrap; }
th { background: #f2f4f7; }
td.text, th.text { text-align: left; white-space: normal; min-width: 8rem; }
td.text { overflow-wrap: anywhere; }
td.key { font-weight: 700; background: #e8f0e8; }
td.top { outline: 2px solid #c0392b; outline-offset: -2px; }
tr.flagged td:first-child { border-left: 4px solid #c0392b; }
tr.cancelled { color: #888; }
.flag { color: #c0392b; }
.plots { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-start; }
figure { margin: 0.5rem 0; }
.plots > figure { margin: 0; flex: 1 1 22rem; min-width: 0; max-width: 34rem; }
.plots > figure.summary { flex: 0 0 auto; }
#envelopes figure { max-width: 40rem; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 0.8rem; color: #555; }
dl { font-size: 0.85rem; } dt { font-weight: 600; } dd { margin: 0 0 0.4rem 1rem; }
@media (max-width: 40rem) { main { padding: 0.4rem; } h1 { font-size: 1.25rem; } }
@page { size: A4; margin: 12mm; }
@media print {
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  table { font-size: 7.5pt; }
  h2 { break-before: auto; break-after: avoid; }
  figure, .summary { break-inside: avoid; }
}
"""


def format_number(value: float | None, places: int = 2, *, comma: bool = False) -> str:
    """A statistic for the page: rounded half up, ``–`` when undefined.

    >>> format_number(6.125), format_number(0.5, 3, comma=True), format_number(float("nan"))
    ('6.13', '0,500', '–')
    """
    if value is None or math.isnan(value):
        return "–"
    text = format(round_half_up(value, places), "f")
    return text.replace(".", ",") if comma else text


def _percent(part: int, whole: int, *, comma: bool) -> str:
    if whole == 0:
        return "–"
    return format_number(100.0 * part / whole, 1, comma=comma) + " %"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, text_columns: Sequence[int] = ()
) -> str:
    """An HTML table of already escaped cells (a cell may be ``(html, css class)``)."""
    out = ['<div class="scroll"><table><thead><tr>']
    for index, header in enumerate(headers):
        css = ' class="text"' if index in text_columns else ""
        out.append(f"<th{css}>{escape(header)}</th>")
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for index, cell in enumerate(row):
            css = ' class="text"' if index in text_columns else ""
            out.append(f"<td{css}>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# --------------------------------------------------------------------------- plots


def _plot(size: tuple[float, float], salt: str, label: str, draw: Callable[[Any], None]) -> str:
    """Draw on a new figure's axes and return it as an inline ``<svg>`` (no XML prologue).

    ``salt`` must differ between the plots of one page: it prefixes the SVG's
    ids, so they are unique within the page and the same from run to run.
    """
    import matplotlib
    from matplotlib.figure import Figure

    buffer = io.StringIO()
    with matplotlib.rc_context(
        {"svg.hashsalt": salt, "svg.fonttype": "none", "font.size": _FONT_POINTS}
    ):
        figure = Figure(figsize=size, layout="constrained")
        axes = figure.add_subplot()
        axes.spines[["top", "right"]].set_visible(False)
        draw(axes)
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    svg = text[text.index("<svg") + len("<svg") :]
    # matplotlib numbers its elements (id="patch_1") afresh in every figure:
    # prefix every id and every reference to one, so ids are unique in the page.
    svg = svg.replace(' id="', f' id="{salt}-').replace("url(#", f"url(#{salt}-")
    svg = svg.replace('href="#', f'href="#{salt}-')
    return f'<svg role="img" aria-label="{escape(label)}"' + svg


def histogram_svg(group: GroupReport, salt: str, *, comma: bool) -> str:
    """The group's score histogram with its mean as a dashed line."""

    def draw(axes: Any) -> None:
        edges = group.histogram_edges
        widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
        axes.bar(
            edges[:-1],
            group.histogram,
            width=widths,
            align="edge",
            color=_BAR_COLOUR,
            edgecolor="white",
        )
        if not math.isnan(group.summary.mean):
            axes.axvline(
                group.summary.mean,
                color=_FLAG_COLOUR,
                linestyle="--",
                linewidth=1.2,
                label=f"mean {format_number(group.summary.mean, comma=comma)}",
            )
            axes.legend(loc="upper left", frameon=False)
        axes.set_xlim(edges[0], edges[-1])
        axes.set_xlabel("score (0–10)")
        axes.set_ylabel("sheets")
        axes.yaxis.get_major_locator().set_params(integer=True)

    return _plot(_HISTOGRAM_SIZE, salt, f"Histogram of the scores of {group.label}", draw)


def item_map_svg(group: GroupReport, salt: str) -> str:
    """Difficulty against point-biserial of every item, flagged items in red."""

    def draw(axes: Any) -> None:
        axes.axvspan(0.0, VERY_HARD_BELOW, color=_BAND_COLOUR, zorder=0)
        axes.axvspan(VERY_EASY_ABOVE, 1.0, color=_BAND_COLOUR, zorder=0)
        axes.axhline(0.0, color="#888888", linewidth=0.8)
        lowest = 0.0
        for item in group.items:
            if item.cancelled or math.isnan(item.difficulty):
                continue
            r = 0.0 if math.isnan(item.point_biserial) else item.point_biserial
            lowest = min(lowest, r)
            colour = _FLAG_COLOUR if item.flags else _BAR_COLOUR
            axes.scatter([item.difficulty], [r], s=14, color=colour, zorder=3)
            axes.annotate(
                str(item.number),
                (item.difficulty, r),
                fontsize=_LABEL_POINTS,
                color=colour,
                xytext=(3, 2),
                textcoords="offset points",
            )
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(min(_ITEM_MAP_R_FLOOR, lowest - 0.05), 1.0)
        axes.set_xlabel("difficulty p (share right)")
        axes.set_ylabel("point-biserial (rest)")

    label = f"Item map of {group.label}: difficulty against discrimination"
    return _plot(_ITEM_MAP_SIZE, salt, label, draw)


def envelope_svg(envelopes: Sequence[UnitReport], salt: str) -> tuple[str, str]:
    """Scores per envelope (scan file), and the plot's caption.

    Up to :data:`_MAX_BOX_PLOTS` envelopes: a box plot each.  More would not
    fit a page: then each envelope's mean and sd in file order, the
    :data:`_LABELLED_ENVELOPES` most unusual means named.
    """
    shown = [u for u in envelopes if u.scores]
    if len(shown) <= _MAX_BOX_PLOTS:
        height = max(_ENVELOPE_MIN_INCHES, _ENVELOPE_ROW_INCHES * len(shown) + 0.8)

        def boxes(axes: Any) -> None:
            if shown:
                axes.boxplot(
                    [list(u.scores) for u in shown],
                    orientation="horizontal",
                    tick_labels=[os.path.basename(u.name) for u in shown],
                    widths=0.6,
                )
                axes.invert_yaxis()
            axes.set_xlim(0, 10)
            axes.set_xlabel("score (0–10)")
            axes.tick_params(axis="y", labelsize=_LABEL_POINTS)

        caption = (
            "Scores per envelope: box from the lower to the upper quartile, line at the median."
        )
        return _plot((_PLOT_WIDTH, height), salt, "Scores per envelope", boxes), caption

    means = [u.summary.mean for u in shown]
    centre = sum(means) / len(means)
    unusual = sorted(shown, key=lambda u: -abs(u.summary.mean - centre))[:_LABELLED_ENVELOPES]

    position = {id(u): k for k, u in enumerate(shown, start=1)}

    def scatter(axes: Any) -> None:
        axes.errorbar(
            list(position.values()),
            means,
            yerr=[u.summary.sd for u in shown],
            fmt="o",
            markersize=3,
            color=_BAR_COLOUR,
            ecolor=_BAND_COLOUR,
        )
        for unit in unusual:
            axes.annotate(
                os.path.basename(unit.name),
                (position[id(unit)], unit.summary.mean),
                fontsize=_LABEL_POINTS,
                color=_FLAG_COLOUR,
                xytext=(3, 2),
                textcoords="offset points",
            )
        axes.set_ylim(0, 10)
        axes.set_xlabel("envelope (in file order)")
        axes.set_ylabel("mean score ± sd")

    caption = (
        f"Mean score (± sd) of each of the {len(shown)} envelopes; the "
        f"{len(unusual)} most unusual means are named."
    )
    return _plot(_HISTOGRAM_SIZE, salt, "Mean score per envelope", scatter), caption


# --------------------------------------------------------------------------- sections


def _key_checks(report: Report) -> str:
    checks = report.key_checks
    if not checks:
        groups_flagged = [g for g in report.groups if g.flags_shown]
        if not groups_flagged:
            return (
                f'<p class="banner">Too few sheets for item flags (each paket needs at least '
                f"{MIN_SHEETS_FOR_FLAGS}).</p>"
            )
        return (
            '<p class="ok">No item needs a key check: on every item most of the top group '
            "chose the key or no single other letter.</p>"
        )
    lines = "".join(
        f"<li><strong>{escape(group.label)}</strong>: "
        f"{escape(item_flag_text(ItemFlag.CHECK_KEY, item))}; the key says "
        f"{escape(item.key)}</li>"
        for group, item in checks
    )
    return (
        '<div class="banner"><strong>Check these keys.</strong> A wrong key letter costs every '
        "student a point; after correcting the key, run <code>ljun rescore</code>."
        f"<ul>{lines}</ul></div>"
    )


def _overview(report: Report, *, comma: bool) -> str:
    rows = [
        ("sheets", str(report.sheets)),
        ("scored", str(report.scored)),
        (
            "in review",
            f"{report.in_review} ({_percent(report.in_review, report.sheets, comma=comma)})",
        ),
        ("not scored", str(report.sheets - report.scored)),
    ]
    for reason, count in report.unscored_reasons.items():
        rows.append((f"not scored: {reason}", str(count)))
    attendance = report.attendance
    if attendance.checked:
        if attendance.listed is not None:
            rows.append(("on the attendance lists", str(attendance.listed)))
        rows.append(("listed, no sheet", str(len(attendance.missing))))
        rows.append(("  of whom marked absent", str(len(attendance.marked_absent))))
    else:
        rows.append(("attendance lists", "not given"))
    return _table(("", "count"), ((escape(a), escape(b)) for a, b in rows), text_columns=(0,))


def _group_summary(group: GroupReport, *, comma: bool) -> str:
    s = group.summary
    raw = group.raw_summary
    rows = [
        ("sheets scored", str(group.sheets)),
        (
            "in review",
            f"{group.in_review} ({_percent(group.in_review, group.sheets, comma=comma)})",
        ),
        ("mean", format_number(s.mean, comma=comma)),
        ("median", format_number(s.median, comma=comma)),
        ("standard deviation", format_number(s.sd, comma=comma)),
        (
            "min – max",
            f"{format_number(s.minimum, comma=comma)} – {format_number(s.maximum, comma=comma)}",
        ),
        ("mean items right", f"{format_number(raw.mean, 1, comma=comma)} of {group.key.items}"),
        ("KR-20 reliability", format_number(group.kr20, 3, comma=comma)),
        ("SEM (score points)", format_number(group.sem, comma=comma)),
    ]
    return (
        '<div class="summary">'
        + _table(("", "value"), ((escape(a), escape(b)) for a, b in rows), text_columns=(0,))
        + "</div>"
    )


def _item_cells(item: ItemAnalysis, *, comma: bool) -> list[tuple[str, str]]:
    """The cells of one item's row as ``(escaped html, css class)``."""
    keyed = set(item.key.split("/"))
    cells = [(str(item.number), ""), (escape(item.key), "")]
    if item.cancelled:
        cells += [("cancelled", ""), ("", ""), ("", "")]
    else:
        for value in (item.difficulty, item.point_biserial, item.discrimination):
            cells.append((format_number(value, 2, comma=comma), ""))
    for name, count in zip(CATEGORIES, item.counts):
        css = " ".join(
            c for c, on in (("key", name in keyed), ("top", name == item.top_choice)) if on
        )
        cells.append((str(count), css))
    upper = " ".join(f"{o}{n}" for o, n in zip(OPTIONS, item.upper[: len(OPTIONS)]) if n)
    cells.append((escape(upper), "text"))
    flags = "; ".join(item_flag_text(f, item) for f in item.flags)
    cells.append((f'<span class="flag">{escape(flags)}</span>' if flags else "", "text"))
    return cells


_ITEM_HEADERS = (
    "item",
    "key",
    "p",
    "r (rest)",
    "D 27 %",
    *OPTIONS,
    "blank",
    "multi",
    "top group",
    "flags",
)


def _items_table(group: GroupReport, *, comma: bool) -> str:
    out = ['<div class="scroll"><table><thead><tr>']
    for header in _ITEM_HEADERS:
        css = ' class="text"' if header in ("top group", "flags") else ""
        out.append(f"<th{css}>{escape(header)}</th>")
    out.append("</tr></thead><tbody>")
    for item in group.items:
        css = "cancelled" if item.cancelled else ("flagged" if item.flags else "")
        out.append(f'<tr class="{css}">' if css else "<tr>")
        for cell, cell_css in _item_cells(item, comma=comma):
            out.append(f'<td class="{cell_css}">{cell}</td>' if cell_css else f"<td>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _group_section(group: GroupReport, index: int, *, comma: bool) -> str:
    parts = [f'<section id="group-{index}"><h2>{escape(group.label)}</h2>']
    if group.in_review:
        parts.append(
            f'<p class="banner">{group.in_review} of these {group.sheets} sheets are still in '
            "review; their current scores are counted.</p>"
        )
    parts.append('<div class="plots">')
    parts.append(f'<figure class="summary">{_group_summary(group, comma=comma)}</figure>')
    parts.append(
        f"<figure>{histogram_svg(group, f'hist-{index}', comma=comma)}"
        f"<figcaption>Scores, bins of {format_number(HISTOGRAM_BIN_WIDTH, 1, comma=comma)} "
        "point; dashed: the mean.</figcaption></figure>"
    )
    parts.append(
        f"<figure>{item_map_svg(group, f'items-{index}')}"
        "<figcaption>Each item: share right (grey bands: very hard, very easy) against its "
        "correlation with the rest of the test; red: flagged.</figcaption></figure>"
    )
    parts.append("</div>")
    parts.append("<h3>Items</h3>")
    if not group.flags_shown:
        parts.append(
            f'<p class="banner">Fewer than {MIN_SHEETS_FOR_FLAGS} sheets: the items are not '
            "flagged.</p>"
        )
    parts.append(_items_table(group, comma=comma))
    parts.append("</section>")
    return "".join(parts)


def _unit_rows(
    units: Sequence[UnitReport], *, comma: bool, school: bool
) -> Iterable[tuple[str, ...]]:
    for unit in units:
        s = unit.summary
        row = [
            escape(unit.name),
            str(unit.sheets),
            str(unit.scored),
            str(unit.in_review),
            format_number(s.mean, comma=comma),
            format_number(s.sd, comma=comma),
            format_number(s.minimum, comma=comma),
            format_number(s.maximum, comma=comma),
        ]
        if school:
            row.append("–" if unit.missing is None else str(unit.missing))
        row += [
            "–" if unit.not_on_list is None else str(unit.not_on_list),
            "–" if unit.marked_absent is None else str(unit.marked_absent),
            str(unit.duplicates),
            escape(", ".join(os.path.basename(n) for n in unit.also_in)),
        ]
        yield tuple(row)


def _units_section(report: Report, *, comma: bool) -> str:
    common = ("sheets", "scored", "in review", "mean", "sd", "min", "max")
    tail = ("not on list", "marked absent", "on 2+ sheets", "also in")
    schools = _table(
        ("school (prov-dist-school)", *common, "listed, no sheet", *tail),
        _unit_rows(report.schools, comma=comma, school=True),
        text_columns=(0, 13),
    )
    envelopes = _table(
        ("envelope (scan file)", *common, *tail),
        _unit_rows(report.envelopes, comma=comma, school=False),
        text_columns=(0, 12),
    )
    plot, caption = envelope_svg(report.envelopes, "envelopes")
    return (
        '<section id="schools"><h2>Schools</h2>'
        "<p>A school is the province, district and school digits of the nomor peserta.</p>"
        f"{schools}</section>"
        '<section id="envelopes"><h2>Envelopes</h2>'
        "<p>An envelope is a scan file. <em>On 2+ sheets</em>: sheets whose nomor peserta is "
        "also on another sheet, which points to an envelope scanned twice.</p>"
        f"{envelopes}<figure>{plot}<figcaption>{escape(caption)}</figcaption></figure></section>"
    )


_DEFINITIONS = """
<section id="definitions"><h2>How to read this report</h2><dl>
<dt>p (difficulty)</dt><dd>Share of the sheets that got the item right.</dd>
<dt>r (rest)</dt><dd>Point-biserial correlation between the item (right = 1) and the sheet's
score on the other items; below 0 the weaker students did better on it.</dd>
<dt>D 27 %</dt><dd>Share right in the upper 27 % of the sheets (by total) minus the share
right in the lower 27 %.</dd>
<dt>A–E, blank, multi</dt><dd>Sheets that marked each option, none, or more than one; the
key's count is shaded green, a distractor most of the top group chose is framed red.</dd>
<dt>KR-20</dt><dd>Kuder–Richardson 20 reliability of the paket (cancelled items left out).</dd>
<dt>SEM</dt><dd>Standard error of measurement: sd × √(1 − KR-20), in score points.</dd>
</dl></section>
"""


def render_html(
    report: Report, *, title: str, meta: Sequence[str] = (), comma: bool = False
) -> str:
    """The whole page as a string.

    Parameters
    ----------
    report : Report
    title : str
        The page's heading.
    meta : sequence of str
        Lines under the heading (store, batches, when made); escaped here.
    comma : bool
        Indonesian decimal comma (``7,50``).
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
    ]
    if meta:
        parts.append('<p class="meta">' + "<br>".join(escape(m) for m in meta) + "</p>")
    if report.in_review:
        parts.append(
            '<p class="banner"><strong>Review is not finished:</strong> '
            f"{report.in_review} of {report.sheets} sheets "
            f"({_percent(report.in_review, report.sheets, comma=comma)}) are still in review; "
            "their current scores are counted and may change.</p>"
        )
    if not report.groups:
        parts.append('<p class="banner">No scored sheet matches: nothing to analyse.</p>')
    else:
        parts.append(_key_checks(report))
    parts.append(f"<h2>Overview</h2>{_overview(report, comma=comma)}")
    for index, group in enumerate(report.groups, start=1):
        parts.append(_group_section(group, index, comma=comma))
    if report.sheets:
        parts.append(_units_section(report, comma=comma))
    parts.append(_DEFINITIONS)
    parts.append("</main></body></html>\n")
    return "".join(parts)


def write_html(
    report: Report,
    path: str | os.PathLike[str],
    *,
    title: str,
    meta: Sequence[str] = (),
    comma: bool = False,
) -> None:
    """Write :func:`render_html` to ``path`` atomically (UTF-8)."""
    page = render_html(report, title=title, meta=meta, comma=comma)
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(page)
