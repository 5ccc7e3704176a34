"""Inventing truthful exam participants, envelopes, answer keys and answers.

Nothing here draws: this module decides *what* the students meant (identity,
paket, answers) and how the exam was organised (schools, rooms of at most 20,
envelopes sorted by participant number, absentees, the Susulan sitting).

Determinism: everything is drawn from :class:`numpy.random.Generator` objects
seeded from ``(seed, stream, index)``, never from a shared running generator,
so sheet ``i`` is the same whatever the count, the worker layout or the
output format.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ..kompetensi import competency_codes
from ..nomor import format_nomor_peserta, luhn_check_digit
from ..numbers import round_half_up
from ._levels import Level

__all__ = [
    "ANSWER_OPTIONS",
    "N_ITEMS",
    "PAKETS",
    "KEY_FILE_NAMES",
    "Participant",
    "Envelope",
    "SheetPlan",
    "luhn_check_digit",
    "format_nomor_peserta",
    "answer_keys",
    "plan_envelopes",
    "plan_sheet",
    "sheet_truth",
    "score_answers",
    "rng_for",
    "iter_sheet_plans",
    "special_truth",
]

#: Options of an answer item (LJUN Teori Kejuruan: A–E).
ANSWER_OPTIONS: tuple[str, ...] = ("A", "B", "C", "D", "E")
#: Items of the theory test.
N_ITEMS = 40
#: Booklets: Paket A, Paket B and Paket Susulan (``S``).
PAKETS: tuple[str, ...] = ("A", "B", "S")
#: File name of each paket's answer key (the team's convention).
KEY_FILE_NAMES: dict[str, str] = {"A": "paketA.json", "B": "paketB.json", "S": "susulan.json"}

# Independent random streams: the first entropy word after the seed.
STREAM_KEYS = 1
STREAM_SCHOOLS = 2
STREAM_ANSWERS = 3
STREAM_MARKS = 4
STREAM_SCANNER = 5
STREAM_SPECIAL = 6
STREAM_ENVELOPE_SCAN = 7

# Nomor peserta X-XX-XX-XX-XXX-XXX-X (ljun.nomor).  The level digit of SMK and
# the year of the bundled template (Tahun Pelajaran 2011/2012) are our assumption.
SMK_LEVEL_DIGIT = "4"
EXAM_YEAR = "12"
# Province and district codes are drawn from these ranges (two digits each).
PROVINCE_CODES = (1, 34)
DISTRICT_CODES = (1, 30)

# A school sends 1–3 rooms; a room seats at most 20 (guide VI.C) and in our
# sets at least 12.
ROOMS_PER_SCHOOL = (1, 3)
ROOM_SIZE = (12, 20)
# Absentees per room on the attendance list (without a sheet), drawn from this list.
ABSENTEES_CHOICES = (0, 1, 1, 2)
# Probability a school's absentees sit the Susulan (make-up) test.
SUSULAN_PROBABILITY = 0.5

# Students were 17–19 at the 2012 exam.
BIRTH_YEARS = (1993, 1995)

# Ability (expected fraction correct) ~ Beta(a, b): mean 0.67, sd 0.15, the
# spread of a competency exam most students pass.
ABILITY_BETA = (6.0, 3.0)
# Item difficulty: shift of the probability of a correct answer, sd.
ITEM_DIFFICULTY_SD = 0.12
# A probability of a correct answer is kept within these bounds.
CORRECT_PROBABILITY_BOUNDS = (0.05, 0.98)

# Practical score (0–10): mean 7.8, sd 0.6 around the student's ability, so
# about one in ten is below the 7.00 pass mark.
PRAKTIK_MEAN = 7.8
PRAKTIK_SD = 0.6
PRAKTIK_ABILITY_WEIGHT = 2.0
PRAKTIK_BOUNDS = (4.5, 9.8)

# Multi-marks are 2 options, now and then 3.
MULTI_MARK_OPTIONS = (2, 2, 2, 3)

# Indonesian-looking names (upper case, letters only, as bubbled on the LJUN).
FIRST_NAMES: tuple[str, ...] = (
    "AHMAD",
    "BUDI",
    "SITI",
    "DEWI",
    "RIZKY",
    "PUTRI",
    "NUR",
    "AGUS",
    "EKO",
    "SRI",
    "WAHYU",
    "DIAN",
    "FITRI",
    "INDAH",
    "ADI",
    "DWI",
    "TRI",
    "YOGI",
    "RINA",
    "ANDI",
    "MUHAMMAD",
    "NURUL",
    "AYU",
    "FAJAR",
    "BAYU",
    "RATNA",
    "HENDRA",
    "YUNI",
    "ARIF",
    "LINDA",
    "SLAMET",
    "WIDYA",
    "ILHAM",
    "RAHMAT",
    "DESI",
    "GILANG",
    "NOVI",
    "YUSUF",
    "IKA",
    "TAUFIK",
    "ANISA",
    "DODI",
    "MEGA",
    "IRFAN",
    "LUTFI",
    "KHOIRUL",
    "NINA",
    "BAMBANG",
    "ENDANG",
    "SUSI",
    "TEGUH",
    "YULIA",
    "FIKRI",
    "LAILA",
    "DANANG",
    "ROHMAN",
)
MIDDLE_NAMES: tuple[str, ...] = (
    "NUR",
    "DWI",
    "AJI",
    "PUTRA",
    "SRI",
    "ADI",
    "EKA",
    "TRI",
    "AYU",
    "DEWI",
    "BAGUS",
)
LAST_NAMES: tuple[str, ...] = (
    "SAPUTRA",
    "PRATAMA",
    "LESTARI",
    "WULANDARI",
    "SETIAWAN",
    "HIDAYAT",
    "KURNIAWAN",
    "NUGROHO",
    "RAHMAWATI",
    "PURNAMA",
    "SANTOSO",
    "WIJAYA",
    "SUSANTI",
    "FIRMANSYAH",
    "RAMADHAN",
    "HARYANTO",
    "SAPUTRI",
    "MAULANA",
    "HANDAYANI",
    "SUSILO",
    "PRASETYO",
    "SARI",
    "ANGGRAINI",
    "GUNAWAN",
    "SIREGAR",
    "NASUTION",
    "SIMANJUNTAK",
    "LUBIS",
    "HARAHAP",
    "PANGARIBUAN",
    "PERMANA",
    "SUGIARTO",
    "WIBOWO",
    "KUSUMA",
    "SULISTYO",
    "YULIANTO",
    "FAUZI",
    "ASTUTI",
    "RAHAYU",
    "SETIADI",
    "MUNTHE",
    "TAMBUNAN",
)
# Probability of a one-word name (common in Java) and of a three-word name.
SINGLE_NAME_PROBABILITY = 0.12
THREE_WORD_NAME_PROBABILITY = 0.2
#: Columns of the nama grid.
NAMA_COLUMNS = 20


def rng_for(seed: int, stream: int, *index: int) -> np.random.Generator:
    """A generator for one purpose (``stream``) and one thing (``index``)."""
    return np.random.default_rng([int(seed), int(stream), *(int(i) for i in index)])


@dataclass(frozen=True)
class Participant:
    """One participant on an attendance list.

    ``nomor_peserta`` is the 14 plain digits (the last a Luhn check digit);
    ``nama`` the full upper-case name (the sheet holds its first 20
    characters); ``tanggal_lahir`` ``DDMMYY``; ``ability`` the expected
    fraction of correct answers; ``nilai_praktik`` the practical score.
    """

    nomor_peserta: str
    nama: str
    tanggal_lahir: str
    kode_kompetensi: str
    paket: str
    present: bool
    ability: float
    nilai_praktik: Decimal


@dataclass(frozen=True)
class Envelope:
    """One sealed envelope: the sheets of one room, sorted by participant number.

    ``participants`` is the whole attendance list (absentees included);
    ``first_sheet`` the index, over the whole set, of the first sheet in it;
    ``n_sheets`` how many sheets it holds (the last envelope of a set may be
    cut short: its list then ends with its last sheet).  ``special_pages`` lists extra scanned pages as
    ``(position, kind)``: the page is inserted before sheet ``position``
    (``position == n_sheets`` means after the last sheet); ``kind`` is
    ``blank`` or ``other``.
    """

    index: int
    school: str
    room: int
    susulan: bool
    participants: tuple[Participant, ...]
    first_sheet: int
    n_sheets: int
    special_pages: tuple[tuple[int, str], ...] = ()

    @property
    def present(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.present)

    @property
    def name(self) -> str:
        """File-name stem, e.g. ``amplop-003``."""
        return f"amplop-{self.index + 1:03d}"


@dataclass(frozen=True)
class SheetPlan:
    """What one student meant to fill in (the truth before any drawing).

    ``answers`` holds, per item, the intended letter, ``""`` (blank) or
    ``"*"`` (a deliberate multi-mark); ``multi_options`` the options bubbled
    for each ``"*"`` item; ``nama`` the name as bubbled (at most 20 columns,
    a space is a blank column).
    """

    index: int
    envelope: int
    participant: Participant
    nama: str
    barcode: str
    answers: tuple[str, ...]
    multi_options: dict[int, tuple[str, ...]]


# --------------------------------------------------------------------------- keys


def answer_keys(seed: int, items: int = N_ITEMS) -> dict[str, dict]:
    """The answer keys of the three pakets for ``seed``, ``items`` letters each
    (the first 40 are the same whatever ``items`` is).

    Returns
    -------
    dict
        ``{"A": {"paket": "A", "answers": [...40 letters]}, "B": ..., "S": ...}``
        in the minimal answer-key JSON form (ARCHITECTURE.md §3).

    >>> keys = answer_keys(1)
    >>> sorted(keys), len(keys["A"]["answers"]), keys["S"]["paket"]
    (['A', 'B', 'S'], 40, 'S')
    """
    rng = rng_for(seed, STREAM_KEYS)
    letters = np.asarray(ANSWER_OPTIONS)
    return {
        paket: {"paket": paket, "answers": [str(x) for x in rng.choice(letters, items)]}
        for paket in PAKETS
    }


def _item_difficulty(seed: int, items: int = N_ITEMS) -> dict[str, np.ndarray]:
    rng = rng_for(seed, STREAM_KEYS, 1)
    return {paket: rng.normal(0.0, ITEM_DIFFICULTY_SD, items) for paket in PAKETS}


# --------------------------------------------------------------------------- people


def _name(rng: np.random.Generator) -> str:
    first = str(rng.choice(FIRST_NAMES))
    u = rng.random()
    if u < SINGLE_NAME_PROBABILITY:
        return first
    last = str(rng.choice(LAST_NAMES))
    if u < SINGLE_NAME_PROBABILITY + THREE_WORD_NAME_PROBABILITY:
        middle = str(rng.choice(MIDDLE_NAMES))
        if middle != first:
            return f"{first} {middle} {last}"
    return f"{first} {last}"


def _birth_date(rng: np.random.Generator) -> str:
    year = int(rng.integers(BIRTH_YEARS[0], BIRTH_YEARS[1] + 1))
    month = int(rng.integers(1, 13))
    day = int(rng.integers(1, calendar.monthrange(year, month)[1] + 1))
    return f"{day:02d}{month:02d}{year % 100:02d}"


def _praktik(rng: np.random.Generator, ability: float) -> Decimal:
    mean_ability = ABILITY_BETA[0] / sum(ABILITY_BETA)
    value = rng.normal(PRAKTIK_MEAN + PRAKTIK_ABILITY_WEIGHT * (ability - mean_ability), PRAKTIK_SD)
    return round_half_up(float(np.clip(value, *PRAKTIK_BOUNDS)), 2)


def _school_envelopes(seed: int, school_index: int, used_schools: set[str]) -> list[tuple]:
    """Rooms of one school: ``[(school, room, susulan, participants)]``."""
    rng = rng_for(seed, STREAM_SCHOOLS, school_index)
    codes = sorted(competency_codes())
    while True:
        school = (
            f"{int(rng.integers(PROVINCE_CODES[0], PROVINCE_CODES[1] + 1)):02d}"
            f"{int(rng.integers(DISTRICT_CODES[0], DISTRICT_CODES[1] + 1)):02d}"
            f"{int(rng.integers(1, 1000)):03d}"
        )
        if school not in used_schools:
            used_schools.add(school)
            break
    n_rooms = int(rng.integers(ROOMS_PER_SCHOOL[0], ROOMS_PER_SCHOOL[1] + 1))
    number = int(rng.integers(1, 20))  # the school's first participant number
    rooms = []
    absentees: list[Participant] = []
    for room in range(1, n_rooms + 1):
        size = int(rng.integers(ROOM_SIZE[0], ROOM_SIZE[1] + 1))
        kode = str(rng.choice(codes))
        n_absent = int(rng.choice(ABSENTEES_CHOICES))
        absent_seats = set(rng.choice(size, n_absent, replace=False).tolist())
        people = []
        for seat in range(size):
            payload = f"{SMK_LEVEL_DIGIT}{EXAM_YEAR}{school}{number:03d}"
            number += 1
            ability = float(rng.beta(*ABILITY_BETA))
            people.append(
                Participant(
                    nomor_peserta=payload + luhn_check_digit(payload),
                    nama=_name(rng),
                    tanggal_lahir=_birth_date(rng),
                    kode_kompetensi=kode,
                    # Neighbours get different booklets: A on odd seats, B on even.
                    paket="A" if seat % 2 == 0 else "B",
                    present=seat not in absent_seats,
                    ability=ability,
                    nilai_praktik=_praktik(rng, ability),
                )
            )
        rooms.append((school, room, False, tuple(people)))
        absentees += [p for p in people if not p.present]
    if absentees and rng.random() < SUSULAN_PROBABILITY:
        susulan = tuple(
            Participant(**{**p.__dict__, "paket": "S", "present": True}) for p in absentees
        )
        rooms.append((school, n_rooms + 1, True, susulan))
    return rooms


def plan_envelopes(seed: int, count: int, level: Level, *, special_pages: bool) -> list[Envelope]:
    """The envelopes holding the first ``count`` sheets of the set for ``seed``.

    Envelope ``k`` and sheet ``i`` do not depend on ``count`` (except that the
    last envelope is cut short), so a larger set starts with a smaller one.
    """
    envelopes: list[Envelope] = []
    used: set[str] = set()
    sheet = 0
    school_index = 0
    while sheet < count:
        for school, room, susulan, people in _school_envelopes(seed, school_index, used):
            if sheet >= count:
                break
            k = len(envelopes)
            present = np.cumsum([p.present for p in people])
            n = min(int(present[-1]), count - sheet)
            if n < present[-1]:
                # The set ends inside this envelope: its list ends with the last sheet.
                people = people[: int(np.searchsorted(present, n)) + 1]
            specials: tuple[tuple[int, str], ...] = ()
            if special_pages:
                specials = _special_pages(seed, k, n, level)
            envelopes.append(Envelope(k, school, room, susulan, people, sheet, n, specials))
            sheet += n
        school_index += 1
    return envelopes


def _special_pages(
    seed: int, envelope: int, n_sheets: int, level: Level
) -> tuple[tuple[int, str], ...]:
    rng = rng_for(seed, STREAM_SPECIAL, envelope)
    pages = []
    # Attendance list and report form are usually scanned after the sheets;
    # a separator or the blank back of a sheet can be anywhere.
    if rng.random() < level.other_page_probability:
        pages.append((n_sheets if rng.random() < 0.7 else 0, "other"))
    if rng.random() < level.blank_page_probability:
        pages.append((int(rng.integers(0, n_sheets + 1)), "blank"))
    return tuple(sorted(pages))


# --------------------------------------------------------------------------- sheets


def plan_sheet(
    seed: int,
    index: int,
    envelope: Envelope,
    participant: Participant,
    level: Level,
    items: int = N_ITEMS,
) -> SheetPlan:
    """What participant ``participant`` (sheet ``index`` of the set) meant to
    fill in, on a sheet of ``items`` answer items."""
    rng = rng_for(seed, STREAM_ANSWERS, index)
    key = np.asarray(answer_keys(seed, items)[participant.paket]["answers"])
    difficulty = _item_difficulty(seed, items)[participant.paket]
    p_correct = np.clip(participant.ability + difficulty, *CORRECT_PROBABILITY_BOUNDS)
    correct = rng.random(items) < p_correct
    # A wrong answer is one of the other four letters, uniformly.
    key_pos = np.searchsorted(np.asarray(ANSWER_OPTIONS), key)
    wrong_pos = (key_pos + rng.integers(1, len(ANSWER_OPTIONS), items)) % len(ANSWER_OPTIONS)
    answers = np.where(correct, key, np.asarray(ANSWER_OPTIONS)[wrong_pos]).astype(object)
    n_blank = min(int(rng.poisson(level.blank_answers_mean)), items // 4)
    n_multi = min(int(rng.poisson(level.multi_mark_mean)), items // 8)
    special = rng.choice(items, n_blank + n_multi, replace=False)
    multi_options: dict[int, tuple[str, ...]] = {}
    for q in special[:n_blank]:
        answers[q] = ""
    for q in special[n_blank:]:
        k = int(rng.choice(MULTI_MARK_OPTIONS))
        chosen = set(rng.choice(ANSWER_OPTIONS, k - 1, replace=False).tolist()) | {answers[q]}
        while len(chosen) < k:
            chosen.add(str(rng.choice(ANSWER_OPTIONS)))
        multi_options[int(q)] = tuple(sorted(chosen))
        answers[q] = "*"
    serial = (index + 1 + _serial_offset(seed)) % 1_000_000
    return SheetPlan(
        index=index,
        envelope=envelope.index,
        participant=participant,
        nama=participant.nama[:NAMA_COLUMNS].rstrip(),
        barcode=f"LJUN-{participant.paket}-{serial:06d}",
        answers=tuple(str(a) for a in answers),
        multi_options=multi_options,
    )


def _serial_offset(seed: int) -> int:
    return int(rng_for(seed, STREAM_KEYS, 2).integers(0, 900_000))


def score_answers(answers: tuple[str, ...] | list[str], key: list[str]) -> tuple[int, Decimal]:
    """``(correct, score)``: matches with the key, and ``correct / items * 10``
    rounded half up to 2 decimals.  Blank and ``*`` are never correct.

    >>> score_answers(["A", "", "*", "D"], ["A", "B", "C", "D"])
    (2, Decimal('5.00'))
    """
    correct = sum(1 for a, k in zip(answers, key) if a == k and a not in ("", "*"))
    return correct, round_half_up(Decimal(correct) * 10 / Decimal(len(key)), 2)


def sheet_truth(plan: SheetPlan, template_id: str, key: list[str]) -> dict:
    """The result record (ARCHITECTURE.md §3) this sheet must read as.

    ``source`` is ``""`` and ``page`` 0 until the sheet is written to a file.
    ``score`` is a JSON number with 2 decimals of meaning (``7.25``).
    """
    p = plan.participant
    correct, score = score_answers(plan.answers, key)
    dob = p.tanggal_lahir
    return {
        "source": "",
        "page": 0,
        "template": template_id,
        "nomor_peserta": format_nomor_peserta(p.nomor_peserta),
        "nama": plan.nama,
        "tanggal_lahir": f"{dob[0:2]}-{dob[2:4]}-{dob[4:6]}",
        "kode_kompetensi": p.kode_kompetensi,
        "paket": p.paket,
        "barcode": plan.barcode,
        "answers": list(plan.answers),
        "correct": correct,
        "score": float(score),
        "flags": [],
        "review": False,
    }


def special_truth(kind: str, template_id: str) -> dict:
    """The result record of a blank (``blank_page``) or non-LJUN (``wrong_template``) page."""
    flag = {"blank": "blank_page", "other": "wrong_template"}[kind]
    return {
        "source": "",
        "page": 0,
        "template": template_id,
        "nomor_peserta": "",
        "nama": "",
        "tanggal_lahir": "",
        "kode_kompetensi": "",
        "paket": "",
        "barcode": "",
        "answers": [],
        "correct": None,
        "score": None,
        "flags": [flag],
        "review": True,
    }


def iter_sheet_plans(
    seed: int, envelopes: list[Envelope], level: Level, items: int = N_ITEMS
) -> Iterator[SheetPlan]:
    """Every sheet of ``envelopes``, in set order."""
    for envelope in envelopes:
        for j, participant in enumerate(envelope.present):
            yield plan_sheet(seed, envelope.first_sheet + j, envelope, participant, level, items)
