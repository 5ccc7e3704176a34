"""Every label of the review page, in Bahasa Indonesia (default) and English.

One catalogue, a dict of message id to its texts: the page is small and
gettext's tooling (extract, compile ``.mo`` files) would outweigh it.  A
message may hold ``{name}`` fields (:meth:`str.format`).  Numbers are shown
with the decimal comma in Indonesian (:func:`format_number`).

>>> text("queue_title", "en"), text("queue_title")
('Review queue', 'Antrean pemeriksaan')
>>> format_number(0.4251, "id"), format_number(0.4251, "en"), format_number(-0.001)
('0,43', '0.43', '0,00')
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "MESSAGES", "text", "format_number", "flag_text"]

#: Languages of the page, the first is the default.
LANGUAGES: tuple[str, ...] = ("id", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]

MESSAGES: dict[str, dict[str, str]] = {
    # login and frame
    "app_title": {"id": "ljun — pemeriksaan LJUN", "en": "ljun — LJUN review"},
    "login_title": {"id": "Masuk", "en": "Log in"},
    "login_name": {"id": "Nama pengguna", "en": "User name"},
    "login_password": {"id": "Kata sandi", "en": "Password"},
    "login_button": {"id": "Masuk", "en": "Log in"},
    "login_wrong": {"id": "Nama atau kata sandi salah.", "en": "Wrong name or password."},
    "login_locked": {
        "id": "Terlalu banyak percobaan gagal: akun dikunci sementara. Coba lagi nanti.",
        "en": "Too many failed attempts: the account is locked for a while. Try again later.",
    },
    "logout": {"id": "Keluar", "en": "Log out"},
    "language": {"id": "Bahasa", "en": "Language"},
    "signed_in_as": {"id": "Masuk sebagai {name} ({role})", "en": "Logged in as {name} ({role})"},
    "role_operator": {"id": "operator", "en": "operator"},
    "role_supervisor": {"id": "pengawas", "en": "supervisor"},
    "csrf_refused": {
        "id": "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman.",
        "en": "The form has expired or is not valid. Reload the page.",
    },
    # queue
    "queue_title": {"id": "Antrean pemeriksaan", "en": "Review queue"},
    "queue_progress": {"id": "{done} dari {total} selesai", "en": "{done} of {total} resolved"},
    "queue_start": {"id": "Mulai periksa (Enter)", "en": "Start reviewing (Enter)"},
    "queue_empty": {
        "id": "Tidak ada lembar yang perlu diperiksa.",
        "en": "No sheet needs a person.",
    },
    "filter_batch": {"id": "Batch", "en": "Batch"},
    "filter_source": {"id": "Berkas / amplop", "en": "File / envelope"},
    "filter_reason": {"id": "Alasan", "en": "Reason"},
    "filter_all": {"id": "semua", "en": "all"},
    "filter_apply": {"id": "Saring", "en": "Filter"},
    "col_sheet": {"id": "Lembar", "en": "Sheet"},
    "col_page": {"id": "Hal.", "en": "Page"},
    "col_reasons": {"id": "Alasan", "en": "Reasons"},
    "col_status": {"id": "Status", "en": "Status"},
    "status_open": {"id": "belum", "en": "open"},
    "status_resolved": {"id": "selesai", "en": "resolved"},
    "status_rejected": {"id": "ditolak", "en": "rejected"},
    # sheet page
    "sheet_title": {"id": "Lembar {source} hal. {page}", "en": "Sheet {source} page {page}"},
    "back_to_queue": {"id": "Kembali ke antrean (Esc)", "en": "Back to the queue (Esc)"},
    "item_answers": {"id": "Soal {item}", "en": "Question {item}"},
    "item_column": {"id": "{field}, kolom {item}", "en": "{field}, column {item}"},
    "item_whole": {"id": "{field} (ketik lengkap)", "en": "{field} (type it whole)"},
    "field_nomor_peserta": {"id": "Nomor peserta", "en": "Participant number"},
    "field_nama": {"id": "Nama", "en": "Name"},
    "field_tanggal_lahir": {"id": "Tanggal lahir", "en": "Date of birth"},
    "field_kode_kompetensi": {"id": "Kode kompetensi", "en": "Competency code"},
    "field_paket": {"id": "Paket", "en": "Paket"},
    "field_answers": {"id": "Jawaban", "en": "Answers"},
    "machine_read": {"id": "Bacaan mesin", "en": "Machine reading"},
    "decided": {"id": "Keputusan", "en": "Decision"},
    "darkness": {"id": "Kehitaman", "en": "Darkness"},
    "value_blank": {"id": "kosong", "en": "blank"},
    "value_multiple": {"id": "ganda (*)", "en": "double (*)"},
    "value_unreadable": {"id": "tak terbaca (?)", "en": "unreadable (?)"},
    "keys_option": {
        "id": "Tekan huruf/angka pilihan · 0 atau spasi = kosong · * = tanda ganda · "
        "Enter = terima, lanjut · ↑ = kembali",
        "en": "Press the option's letter/digit · 0 or space = blank · * = double mark · "
        "Enter = accept, next · ↑ = back",
    },
    "keys_identity": {
        "id": "Tekan huruf/angka · spasi = kosong · Enter = terima, lanjut · ↑ = kembali · "
        "/ = ketik isian lengkap",
        "en": "Press the letter/digit · space = blank · Enter = accept, next · ↑ = back · "
        "/ = type the whole field",
    },
    "keys_text": {
        "id": "Ketik nilainya, Enter = terima, lanjut",
        "en": "Type the value, Enter = accept, next",
    },
    "keys_save": {
        "id": "Semua butir sudah diputuskan. Enter = simpan dan lembar berikutnya.",
        "en": "Every item is decided. Enter = save and go to the next sheet.",
    },
    "sheet_flags": {
        "id": "Catatan lembar (dikonfirmasi saat simpan)",
        "en": "Sheet notes (confirmed on saving)",
    },
    "save": {"id": "Simpan (Enter)", "en": "Save (Enter)"},
    "saved": {"id": "Tersimpan.", "en": "Saved."},
    "reject": {"id": "Tolak lembar (bukan LJUN)", "en": "Reject the page (not an LJUN)"},
    "reject_reason": {"id": "Alasan penolakan", "en": "Reason for rejecting"},
    "enter_by_hand": {"id": "Isi manual dari lembar kertas", "en": "Enter by hand from the paper"},
    "enter_answers": {
        "id": "Jawaban 1–40 (A–E, - kosong, * ganda)",
        "en": "Answers 1–40 (A–E, - blank, * double)",
    },
    "enter_save": {"id": "Simpan isian", "en": "Save the entry"},
    "error_answers": {
        "id": "Jawaban: 40 tanda, masing-masing A–E, - atau *.",
        "en": "Answers: 40 marks, each A–E, - or *.",
    },
    "corner_top-left": {"id": "kiri atas", "en": "top left"},
    "corner_top-right": {"id": "kanan atas", "en": "top right"},
    "corner_bottom-right": {"id": "kanan bawah", "en": "bottom right"},
    "corner_bottom-left": {"id": "kiri bawah", "en": "bottom left"},
    "corners_prompt": {
        "id": "Atau registrasi manual: klik tanda sudut {n}/4 lembar, {where}. "
        "Backspace = hapus titik terakhir.",
        "en": "Or register by hand: click the sheet's corner mark {n}/4, {where}. "
        "Backspace = remove the last point.",
    },
    "corners_ready": {
        "id": "Empat titik dipilih. Enter = registrasi dan baca lembar ini.",
        "en": "Four points chosen. Enter = register and read this sheet.",
    },
    "error_corners": {
        "id": "Keempat titik tidak membentuk lembar; klik ulang tanda sudutnya.",
        "en": "The four points do not make a sheet; click the corner marks again.",
    },
    "flag_registered_by_hand": {"id": "diregistrasi manual", "en": "registered by hand"},
    "reopen": {"id": "Buka kembali (pengawas)", "en": "Reopen (supervisor)"},
    "reopen_reason": {"id": "Alasan membuka kembali", "en": "Reason for reopening"},
    "no_image": {
        "id": "Gambar lembar ini tidak tersimpan dan berkas pindaiannya tidak ada lagi.",
        "en": "No image of this sheet was kept and its scan file is gone.",
    },
    "failed_sheet": {
        "id": "Halaman ini tidak dapat diregistrasi ({reason}). Tolak jika bukan LJUN, "
        "atau pindai ulang.",
        "en": "This page could not be registered ({reason}). Reject it if it is not an LJUN, "
        "or scan it again.",
    },
    "status_is": {"id": "Status: {status}", "en": "Status: {status}"},
    "conflict": {
        "id": "Lembar ini sudah diubah oleh operator lain. Muat ulang untuk melihat versinya.",
        "en": "Another operator changed this sheet. Reload to see their version.",
    },
    "error_option": {"id": "Pilihan tidak sah.", "en": "Not an allowed choice."},
    "error_nomor": {
        "id": "Nomor peserta harus 14 angka yang sah.",
        "en": "The participant number must be 14 valid digits.",
    },
    "error_tanggal": {
        "id": "Tanggal lahir harus tanggal nyata (DDMMYY).",
        "en": "The date of birth must be a real date (DDMMYY).",
    },
    "error_kode": {
        "id": "Kode kompetensi tidak ada dalam Lampiran 2.",
        "en": "The competency code is not in Lampiran 2.",
    },
    "error_nama": {
        "id": "Nama: 1–20 huruf A–Z dan spasi.",
        "en": "Name: 1–20 letters A–Z and spaces.",
    },
    "error_missing": {
        "id": "Masih ada butir yang belum diputuskan.",
        "en": "An item is not decided yet.",
    },
    "error_reason": {"id": "Alasan wajib diisi.", "en": "A reason is required."},
    "error_no_sheet": {"id": "Lembar tidak ditemukan.", "en": "No such sheet."},
    "error_failed_sheet": {
        "id": "Halaman ini tidak terbaca; tolak atau pindai ulang.",
        "en": "This page was not read; reject it or scan it again.",
    },
    "forbidden": {
        "id": "Hanya pengawas yang boleh melakukan ini.",
        "en": "Only a supervisor may do this.",
    },
    # flags
    "flag_answer_unsure": {"id": "jawaban ragu", "en": "unsure answer"},
    "flag_unsure": {"id": "kolom identitas ragu", "en": "unsure identity column"},
    "flag_multi_mark": {"id": "tanda ganda di identitas", "en": "double mark in identity"},
    "flag_no_paket": {"id": "paket tidak diisi", "en": "no paket marked"},
    "flag_blank": {"id": "nama kosong", "en": "blank name"},
    "flag_invalid": {"id": "isian tidak sah", "en": "invalid field"},
    "flag_no_fiducials": {"id": "tanda sudut tidak lengkap", "en": "corner marks missing"},
    "flag_blank_page": {"id": "halaman kosong", "en": "blank page"},
    "flag_wrong_template": {"id": "bukan lembar LJUN ini", "en": "not this LJUN form"},
    "flag_residual_too_high": {"id": "lembar melengkung/robek", "en": "sheet warped or torn"},
    "flag_registration_unsure": {"id": "registrasi kurang yakin", "en": "registration unsure"},
    "flag_duplicate_nomor_peserta": {"id": "nomor peserta ganda", "en": "participant number twice"},
    "flag_duplicate_barcode": {"id": "barcode ganda", "en": "barcode twice"},
    "flag_not_on_attendance": {"id": "tidak ada di daftar hadir", "en": "not on attendance"},
    "flag_marked_absent": {"id": "tercatat tidak hadir", "en": "marked absent"},
    "flag_no_key": {"id": "tidak ada kunci untuk paket", "en": "no key for the paket"},
    "flag_barcode_paket_mismatch": {"id": "paket barcode berbeda", "en": "barcode paket differs"},
    "flag_paket_from_barcode": {"id": "paket dari barcode", "en": "paket from barcode"},
    "flag_unreadable": {"id": "barcode tak terbaca", "en": "unreadable barcode"},
    "flag_reopened": {"id": "dibuka kembali", "en": "reopened"},
    "flag_rejected": {"id": "ditolak", "en": "rejected"},
}


def text(message_id: str, language: str = DEFAULT_LANGUAGE, **fields: object) -> str:
    """The message in ``language`` (Indonesian when it has none), fields filled in."""
    entry = MESSAGES.get(message_id)
    if entry is None:
        return message_id
    template = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return template.format(**fields) if fields else template


def flag_text(flag: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A flag for people: its reason in words, with its item or column (``jawaban ragu 12``)."""
    parts = flag.split(":")
    word = parts[0]
    label = text(f"flag_{word}", language) if f"flag_{word}" in MESSAGES else word
    detail = " ".join(
        text(f"field_{p}", language) if f"field_{p}" in MESSAGES else p for p in parts[1:]
    )
    return f"{label} {detail}".strip()


def format_number(value: float, language: str = DEFAULT_LANGUAGE, decimals: int = 2) -> str:
    """``value`` with ``decimals`` decimals, with a decimal comma in Indonesian."""
    shown = f"{value + 0.0:.{decimals}f}"
    if float(shown) == 0:
        shown = f"{0.0:.{decimals}f}"  # no "-0.00" for a value just below zero
    return shown.replace(".", ",") if language == "id" else shown
