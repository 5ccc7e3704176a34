"""The report's content (flags, groups, schools, envelopes) and its HTML and XLSX writers."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from _score_helpers import KEY_A, make_key
from openpyxl import load_workbook

from ljun.report import AttendanceFindings, ItemFlag, ReportSheet, build_report
from ljun.report._analysis import MIN_SHEETS_FOR_FLAGS, UNREAD_SCHOOL, school_of
from ljun.report._html import render_html
from ljun.report._xlsx import write_xlsx
from ljun.score import count_correct, score_value

LETTERS = "ABCDE"


def _nomor(participant: int, school: int = 1) -> str:
    return f"4-12-01-02-{school:03d}-{participant:03d}-0"


def _sheets(
    key,
    count: int = 40,
    *,
    seed: int = 3,
    source=lambda n: f"amplop-{n // 20 + 1:03d}.tif",
    school=lambda n: 1,
    review=lambda n: False,
) -> list[ReportSheet]:
    """Sheets of students of rising ability: stronger ones pick the key more often."""
    rng = np.random.default_rng(seed)
    sheets = []
    for n in range(count):
        ability = 0.2 + 0.75 * n / max(count - 1, 1)
        answers = []
        for accepted in key.answers:
            right = sorted(accepted)[0]
            answers.append(right if rng.random() < ability else rng.choice(list(LETTERS)))
        correct = count_correct(answers, key)
        sheets.append(
            ReportSheet(
                source=source(n),
                page=n % 20 + 1,
                batch=1,
                nomor_peserta=_nomor(n + 1, school(n)),
                kode_kompetensi="6018",
                paket=key.paket,
                answers=tuple(answers),
                correct=correct,
                score=score_value(correct, key.items),
                flags=(),
                review=review(n),
                key_hash=key.content_hash,
            )
        )
    return sheets


def _rescored(sheets: list[ReportSheet], key) -> list[ReportSheet]:
    """The same answers scored with another key (what `ljun score` would store)."""
    out = []
    for s in sheets:
        correct = count_correct(s.answers, key)
        out.append(
            ReportSheet(
                **{
                    **s.__dict__,
                    "correct": correct,
                    "score": score_value(correct, key.items),
                    "key_hash": key.content_hash,
                }
            )
        )
    return out


def _wrong_key(item: int):
    answers = list(KEY_A)
    answers[item - 1] = LETTERS[(LETTERS.index(answers[item - 1]) + 2) % 5]
    return make_key("A", answers)


# --------------------------------------------------------------------------- analysis


def test_a_wrong_key_letter_is_named():
    right = make_key("A")
    wrong = _wrong_key(17)
    sheets = _rescored(_sheets(right), wrong)
    report = build_report(sheets, {wrong.content_hash: wrong})
    checks = [(g.label, i.number, i.top_choice) for g, i in report.key_checks]
    assert checks == [("Paket A", 17, KEY_A[16])]


def test_the_right_key_has_no_key_check():
    right = make_key("A")
    report = build_report(_sheets(right), {right.content_hash: right})
    assert report.key_checks == ()
    (group,) = report.groups
    assert group.kr20 > 0.5  # the students differ in ability: a reliable test
    assert 0 < group.sem < group.summary.sd


def test_too_few_sheets_get_no_item_flags():
    wrong = _wrong_key(17)
    sheets = _rescored(_sheets(make_key("A"), MIN_SHEETS_FOR_FLAGS - 1), wrong)
    report = build_report(sheets, {wrong.content_hash: wrong})
    (group,) = report.groups
    assert not group.flags_shown
    assert all(not item.flags for item in group.items)


def test_nobody_answered_and_cancelled_items():
    key = make_key("A", cancelled=[3])
    sheets = []
    for s in _sheets(key, 20):
        answers = list(s.answers)
        answers[4] = ""  # item 5 left blank by everyone
        sheets.append(ReportSheet(**{**s.__dict__, "answers": tuple(answers)}))
    sheets = _rescored(sheets, key)
    (group,) = build_report(sheets, {key.content_hash: key}).groups
    item5, item3 = group.items[4], group.items[2]
    assert item5.flags == (ItemFlag.NOBODY_ANSWERED,)
    assert item5.difficulty == 0 and item5.counts[5] == 20
    assert item3.cancelled and item3.flags == () and item3.difficulty == 1.0


def test_an_item_everyone_got_right_is_very_easy_without_a_correlation():
    key = make_key("A")
    sheets = []
    for s in _sheets(key, 20):
        answers = list(s.answers)
        answers[0] = KEY_A[0]
        sheets.append(ReportSheet(**{**s.__dict__, "answers": tuple(answers)}))
    (group,) = build_report(_rescored(sheets, key), {key.content_hash: key}).groups
    assert group.items[0].flags == (ItemFlag.VERY_EASY,)
    assert np.isnan(group.items[0].point_biserial)


def test_one_sheet_report():
    key = make_key("A")
    report = build_report(_sheets(key, 1), {key.content_hash: key})
    (group,) = report.groups
    assert group.sheets == 1 and group.summary.sd == 0
    assert np.isnan(group.kr20) and np.isnan(group.sem)
    assert "–" in render_html(report, title="t")


def test_groups_per_paket_and_competency_key():
    general = make_key("A")
    special = make_key("A", kode_kompetensi="6018")
    b_key = make_key("B")
    sheets = _sheets(special, 12) + _sheets(general, 12) + _sheets(b_key, 12)
    keys = {k.content_hash: k for k in (general, special, b_key)}
    labels = [g.label for g in build_report(sheets, keys).groups]
    assert labels == ["Paket A", "Paket A, kode 6018", "Paket B"]


def test_unscored_sheets_are_counted_with_their_reason():
    key = make_key("A")
    unscored = ReportSheet("x.tif", 1, 1, "", "", "S", (), None, None, ("no_key:S",), True, None)
    report = build_report([*_sheets(key, 12), unscored], {key.content_hash: key})
    assert (report.sheets, report.scored, report.in_review) == (13, 12, 1)
    assert report.unscored_reasons == {"no_key:S": 1}


def test_schools_and_envelopes():
    key = make_key("A")
    sheets = _sheets(key, 30, school=lambda n: 1 + n % 2)
    # Envelope 1 scanned again as another file: same participants, same answers.
    again = [ReportSheet(**{**s.__dict__, "source": "amplop-001-again.tif"}) for s in sheets[:5]]
    findings = AttendanceFindings(checked=True, missing=(_nomor(99, 2),))
    report = build_report(sheets + again, {key.content_hash: key}, attendance=findings)
    envelopes = {u.name: u for u in report.envelopes}
    assert envelopes["amplop-001-again.tif"].duplicates == 5
    assert envelopes["amplop-001-again.tif"].also_in == ("amplop-001.tif",)
    assert envelopes["amplop-001.tif"].duplicates == 5
    assert envelopes["amplop-002.tif"].duplicates == 0
    assert envelopes["amplop-002.tif"].sheets == 10
    schools = {u.name: u for u in report.schools}
    assert set(schools) == {"01-02-001", "01-02-002"}
    assert schools["01-02-002"].missing == 1 and schools["01-02-001"].missing == 0
    assert schools["01-02-001"].sheets + schools["01-02-002"].sheets == 35


def test_school_of_an_unread_number():
    assert school_of("4-12-01-02-0?1-001-0") == UNREAD_SCHOOL
    assert school_of("") == UNREAD_SCHOOL


# --------------------------------------------------------------------------- HTML


def _report_with_source(source: str, *, review: bool = False):
    key = make_key("A")
    sheets = _sheets(key, 20, source=lambda n: source, review=lambda n: review and n < 3)
    return build_report(sheets, {key.content_hash: key})


def test_html_escapes_outside_text_and_loads_nothing():
    source = '<script>alert("x")</script>&.tif'
    page = render_html(_report_with_source(source), title="<b>t</b>", meta=["store <db>"])
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;.tif" in page
    assert "&lt;b&gt;t&lt;/b&gt;" in page and "store &lt;db&gt;" in page
    # Self-contained: no URL, no external stylesheet, script or image.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    assert page.count("<svg") == 3  # histogram, item map, envelopes


def test_html_svg_ids_are_unique():
    key = make_key("A")
    b_key = make_key("B")
    sheets = _sheets(key, 20) + _sheets(b_key, 20)
    page = render_html(
        build_report(sheets, {key.content_hash: key, b_key.content_hash: b_key}), title="t"
    )
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    references = set(re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', page))
    assert references and {r for pair in references for r in pair if r} <= set(ids)


def test_html_says_review_is_not_finished():
    page = render_html(_report_with_source("a.tif", review=True), title="t")
    assert "Review is not finished" in page and "3 of 20 sheets (15.0 %)" in page
    assert "Review is not finished" not in render_html(_report_with_source("a.tif"), title="t")


def test_html_decimal_comma():
    report = _report_with_source("a.tif")
    mean = report.groups[0].summary.mean
    plain = render_html(report, title="t")
    comma = render_html(report, title="t", comma=True)
    text = f"{Decimal(str(mean)).quantize(Decimal('0.01'))}"
    assert f"<td>{text}</td>" in plain
    assert f"<td>{text.replace('.', ',')}</td>" in comma


# --------------------------------------------------------------------------- XLSX


@pytest.mark.parametrize("source", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)"])
def test_xlsx_keeps_formula_like_text_as_text(tmp_path, source):
    out = tmp_path / "report.xlsx"
    write_xlsx(_report_with_source(source), out)
    sheet = load_workbook(out)["Envelopes"]
    assert sheet["A2"].value == source
    assert sheet["A2"].data_type == "s"


def test_xlsx_has_the_tables(tmp_path):
    right = make_key("A")
    wrong = _wrong_key(17)
    sheets = _rescored(_sheets(right), wrong)
    out = tmp_path / "report.xlsx"
    write_xlsx(build_report(sheets, {wrong.content_hash: wrong}), out)
    book = load_workbook(out)
    assert book.sheetnames == ["Summary", "Key checks", "Items Paket A", "Schools", "Envelopes"]
    checks = [row for row in book["Key checks"].iter_rows(min_row=2, values_only=True)]
    assert ("Paket A", 17) in {(r[0], r[1]) for r in checks}
    items = book["Items Paket A"]
    assert items.max_row == 41
    assert items["A18"].value == 17 and isinstance(items["D18"].value, float)


@pytest.mark.parametrize(
    "upper, rest_r, expected",
    [
        # Hard item, top group 34: B 16 is a plurality, not a majority; the key D
        # does not go with high scores -> check (the planted error of the demo batch).
        ((2, 16, 5, 6, 4, 1, 0), -0.04, "B"),
        # The same counts with a key that discriminates: a strong distractor, not a key error.
        ((2, 16, 5, 6, 4, 1, 0), 0.30, ""),
        # Most of the top group on C: check, whatever r says.
        ((0, 0, 5, 3, 1, 0, 0), 0.30, "C"),
        # One sheet is not enough; the key chosen as often is not a check.
        ((0, 0, 1, 0, 0, 0, 0), -0.5, ""),
        ((0, 0, 3, 3, 0, 0, 0), -0.5, ""),
        # No correlation (nobody right): a top group on one letter is a check.
        ((0, 4, 0, 0, 0, 1, 0), float("nan"), "B"),
    ],
)
def test_key_check_rule(upper, rest_r, expected):
    from ljun.report._analysis import _top_choice

    assert _top_choice(np.array(upper), frozenset("D"), rest_r) == expected


def test_many_envelopes_get_one_plot_of_their_means():
    key = make_key("A")
    sheets = _sheets(key, 90, source=lambda n: f"amplop-{n // 2:03d}.tif")
    page = render_html(build_report(sheets, {key.content_hash: key}), title="t")
    assert "each of the 45 envelopes; the 5 most unusual means are named" in page
    assert page.count("<svg") == 3


def test_two_keys_of_one_paket_are_told_apart_by_their_hash():
    first = make_key("A")
    second = _wrong_key(5)
    sheets = _sheets(first, 12) + _rescored(_sheets(first, 12), second)
    keys = {k.content_hash: k for k in (first, second)}
    labels = {g.label for g in build_report(sheets, keys).groups}
    assert labels == {f"Paket A (key {k.content_hash[:8]})" for k in (first, second)}
