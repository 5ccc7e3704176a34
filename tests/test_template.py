"""Templates: schema validation, geometric checks, geometry contract, orientation."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from ljun.errors import TemplateError
from ljun.template import (
    check_template,
    load_template,
    mm_to_px,
    orientation_is_ambiguous,
    parse_template,
)

TEMPLATE_FILE = (
    Path(__file__).resolve().parent.parent / "templates/answer_sheets/ljun-teori-kejuruan.json"
)


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(TEMPLATE_FILE.read_text("utf-8"))


def _write(tmp_path: Path, doc: object, name: str = "sheet.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), "utf-8")
    return path


def _field(doc: dict, name: str) -> dict:
    return next(f for f in doc["fields"] if f["name"] == name)


# Each case: how to spoil the template, and words the message must contain.
def _unknown_kind(d):
    _field(d, "paket")["kind"] = "dropdown"


def _negative_size(d):
    d["bubble"]["diameter_mm"] = -4


def _overlapping_blocks(d):
    _field(d, "answers")["blocks"][1]["origin_mm"] = [29, 199]


def _missing_fiducials(d):
    del d["fiducials"][2:]


def _symmetric_fiducials(d):
    for f in d["fiducials"]:
        f["shape"] = "square"


def _duplicate_field(d):
    d["fields"].append(copy.deepcopy(_field(d, "paket")))


def _off_page(d):
    _field(d, "answers")["blocks"][3]["origin_mm"] = [205, 198]


def _unknown_key(d):
    d["paper"]["colour"] = "white"


def _missing_required(d):
    del d["fields"][0]["blocks"]


def _item_gap(d):
    _field(d, "answers")["blocks"][3]["first_item"] = 32


def _wrong_point(d):
    _field(d, "nama")["blocks"][0]["origin_mm"] = [18]


BAD_TEMPLATES = [
    (_unknown_kind, ["$.fields[4].kind", "dropdown", "fix:"]),
    (_negative_size, ["$.bubble.diameter_mm", "positive size"]),
    (_overlapping_blocks, ["overlap", "answers["]),
    (_missing_fiducials, ["$.fiducials", "at least 4"]),
    (_symmetric_fiducials, ["upside down", "ring"]),
    (_duplicate_field, ["'paket' is defined 2 times"]),
    (_off_page, ["off the", "page"]),
    (_unknown_key, ["$.paper", "colour", "spelling"]),
    (_missing_required, ["$.fields[0]", "'blocks' is a required property"]),
    (_item_gap, ["items must run 1..40"]),
    (_wrong_point, ["$.fields[0].blocks[0].origin_mm", "too short"]),
]


@pytest.mark.parametrize("spoil, words", BAD_TEMPLATES, ids=[f.__name__ for f, _ in BAD_TEMPLATES])
def test_bad_template_is_refused_with_path_and_fix(tmp_path, document, spoil, words):
    doc = copy.deepcopy(document)
    spoil(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    "spoil, words", BAD_TEMPLATES[:4], ids=[f.__name__ for f, _ in BAD_TEMPLATES[:4]]
)
def test_cli_bad_template_gives_one_message_and_exit_2(tmp_path, document, run_cli, spoil, words):
    doc = copy.deepcopy(document)
    spoil(doc)
    path = _write(tmp_path, doc)
    result = run_cli("template", "render", path, "--out", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ljun: error: template ")
    assert words[0] in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_not_json_names_line_and_column(tmp_path):
    path = _write(tmp_path, '{"format": "ljun-template/1",\n  "id": }')
    with pytest.raises(TemplateError, match=r"not valid JSON at line 2 column"):
        load_template(path)


def test_unknown_template_id_names_the_bundled_ones():
    with pytest.raises(TemplateError, match=r"no-such-sheet.*bundled one \(.*ljun-teori-kejuruan"):
        load_template("no-such-sheet")


def test_a_template_id_is_found_whatever_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_template("ljun-teori-kejuruan").id == "ljun-teori-kejuruan"


def test_bundled_templates_and_calibrations_are_the_repository_sources(repo_root):
    from ljun.calibration import BUNDLED_CALIBRATIONS
    from ljun.template import BUNDLED_TEMPLATES

    for bundled, source in (
        (BUNDLED_TEMPLATES, repo_root / "templates" / "answer_sheets"),
        (BUNDLED_CALIBRATIONS, repo_root / "calibration"),
    ):
        names = sorted(p.name for p in source.glob("*.json"))
        assert names and names == sorted(p.name for p in bundled.glob("*.json"))
        for name in names:
            assert (bundled / name).read_bytes() == (source / name).read_bytes()


def test_check_command_lists_problems_and_fails(tmp_path, document, run_cli):
    doc = copy.deepcopy(document)
    _overlapping_blocks(doc)
    _missing_fiducials(doc)
    result = run_cli("template", "check", _write(tmp_path, doc))
    assert result.exit_code == 1
    assert "overlap" in result.stderr and "at least 4" in result.stderr


def test_check_command_accepts_the_bundled_template(run_cli):
    result = run_cli("template", "check", "ljun-teori-kejuruan")
    assert result.exit_code == 0, result.stderr
    assert "963 bubbles" in result.stdout


def test_bundled_template_has_no_problems(ljun_template):
    assert check_template(ljun_template) == []


def test_ljun_fields_as_the_guide_and_design_want(ljun_template):
    geometry = ljun_template.geometry(200)
    shapes = dict(zip(geometry.field_names, geometry.field_shapes))
    assert shapes == {
        "nama": (20, 26),
        "nomor_peserta": (14, 10),
        "tanggal_lahir": (6, 10),
        "kode_kompetensi": (4, 10),
        "paket": (1, 3),
        "answers": (40, 5),
    }
    assert ljun_template.field("paket").options == ("A", "B", "S")
    assert (ljun_template.width_mm, ljun_template.height_mm) == (210, 297)
    # Bubbles sized for a 2B pencil: about 4-5 mm.
    assert all(4.0 <= f.bubble_diameter_mm <= 5.0 for f in ljun_template.fields)
    assert ljun_template.barcode is not None and ljun_template.barcode.symbology == "code128"


def test_geometry_json_contract(run_cli):
    result = run_cli("template", "geometry", "ljun-teori-kejuruan", "--dpi", "150")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == {"template", "dpi", "width", "height", "bubbles"}
    assert (doc["template"], doc["dpi"], doc["width"], doc["height"]) == (
        "ljun-teori-kejuruan",
        150,
        1240,
        1754,
    )
    assert len(doc["bubbles"]) == 963
    assert set(doc["bubbles"][0]) == {"field", "item", "option", "x", "y", "r"}
    answers = [b for b in doc["bubbles"] if b["field"] == "answers"]
    assert [b["item"] for b in answers[::5]] == list(range(1, 41))
    assert [b["option"] for b in answers[:5]] == ["A", "B", "C", "D", "E"]
    first = answers[0]
    # Question 1, option A is at (27, 198) mm on paper.
    assert first["x"] == pytest.approx(27 * 150 / 25.4 - 0.5, abs=0.01)
    assert first["y"] == pytest.approx(198 * 150 / 25.4 - 0.5, abs=0.01)
    assert first["r"] == pytest.approx(2.2 * 150 / 25.4, abs=0.01)


def test_grid_gives_items_by_options(ljun_template):
    geometry = ljun_template.geometry(200)
    grid = geometry.grid("nomor_peserta")
    assert grid.shape == (14, 10)
    assert [geometry.option[i] for i in grid[3]] == list("0123456789")
    assert set(geometry.item[grid[3]]) == {4}
    with pytest.raises(TemplateError, match="no field 'barcode'"):
        geometry.grid("barcode")


def test_geometry_is_built_once_per_dpi(ljun_template):
    assert ljun_template.geometry(200) is ljun_template.geometry(200)
    assert ljun_template.geometry(300) is not ljun_template.geometry(200)


def test_mm_to_px_puts_pixel_centres_on_integers():
    assert mm_to_px(25.4, 100) == pytest.approx(99.5)
    assert mm_to_px(0.127, 200) == pytest.approx(0.5)


def test_fiducials_make_orientation_unambiguous(ljun_template):
    fids = ljun_template.fiducials
    assert not orientation_is_ambiguous(fids, ljun_template.width_mm, ljun_template.height_mm)
    # Turned by 180°, exactly one corner mark changes shape: that is how an
    # upside-down scan is recognised.
    shapes = {(round(f.x_mm), round(f.y_mm)): f.shape for f in fids}
    turned = {(round(210 - x), round(297 - y)): s for (x, y), s in shapes.items()}
    assert set(turned) == set(shapes)
    assert sum(shapes[k] != turned[k] for k in shapes) == 2


def test_all_square_fiducials_are_ambiguous(ljun_template):
    from dataclasses import replace

    squares = tuple(replace(f, shape="square") for f in ljun_template.fiducials)
    assert orientation_is_ambiguous(squares, 210, 297)


def test_a_second_design_is_only_a_new_json_file(tmp_path, document):
    """A 50-item sheet needs data only: five answer blocks of ten."""
    doc = copy.deepcopy(document)
    doc["id"] = "ljun-50"
    answers = _field(doc, "answers")
    answers["bubble_diameter_mm"] = 4.0
    answers["blocks"] = [
        {
            "first_item": 1 + 10 * c,
            "items": 10,
            "origin_mm": [24 + 36 * c, 198],
            "item_step_mm": [0, 6],
            "option_step_mm": [5, 0],
        }
        for c in range(5)
    ]
    sheet = load_template(_write(tmp_path, doc))
    grid = sheet.geometry(200).grid("answers")
    assert grid.shape == (50, 5)


def test_parse_template_rejects_non_objects():
    with pytest.raises(TemplateError, match=r"at \$: \[\] is not of type 'object'"):
        parse_template([])


def test_geometry_centres_are_finite_and_on_the_page(ljun_template):
    for dpi in (150, 200, 300):
        g = ljun_template.geometry(dpi)
        assert np.isfinite(g.centres).all()
        assert (g.centres - g.radii[:, None] > 0).all()
        assert (g.centres[:, 0] + g.radii < g.width).all()
        assert (g.centres[:, 1] + g.radii < g.height).all()


def test_geometry_prints_one_bubble_per_line(run_cli):
    lines = run_cli("template", "geometry", "ljun-teori-kejuruan").stdout.splitlines()
    assert len(lines) == 2 + 963 + 1
    assert lines[2].startswith('  {"field": "nama", "item": 1, "option": "A"')


def test_a_calibration_is_found_by_name_whatever_the_current_folder(tmp_path, monkeypatch):
    from ljun.calibration import load_calibration
    from ljun.errors import CalibrationError

    monkeypatch.chdir(tmp_path)
    assert load_calibration("default") == load_calibration()
    assert load_calibration().identity.startswith("default@")
    with pytest.raises(CalibrationError, match=r"'scanner-x' not found.*bundled one \(default"):
        load_calibration("scanner-x")
