"""The review web application (Flask, server-rendered pages and a little JavaScript).

:func:`create_app` builds it for one results store.  Every page but the login
page needs a session; every POST needs the session's CSRF token (the login
form a double-submit cookie); every response carries security headers (a
strict Content-Security-Policy: scripts, styles and images from this server
only, no inline script).  No path from a request reaches the file system:
sheets are named by their number in the store, images come from the store.

What reaches the browser about a sheet: its image, bubble positions, the
machine's reading, each flagged bubble's darkness; never an answer key or a
score (the operator sees marks, not which answer is right).
"""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from ..errors import StoreError
from ..register import REFERENCE_DPI
from ..store import open_store
from ..template import load_template
from . import auth
from ._images import ensure_review_image
from .catalogue import DEFAULT_LANGUAGE, LANGUAGES, MESSAGES, flag_text, format_number, text
from .corners import corner_labels, register_by_corners
from .decisions import (
    HAND_FIELDS,
    Conflict,
    DecisionError,
    decide_sheet,
    enter_by_hand,
    load_sheet,
    reject_sheet,
    reopen_sheet,
    review_items,
)
from .queue import load_queue

__all__ = ["create_app", "SESSION_COOKIE", "LOGIN_CSRF_COOKIE"]

#: Name of the session cookie (HttpOnly, SameSite=Strict).
SESSION_COOKIE = "ljun_session"
#: Name of the login form's double-submit CSRF cookie.
LOGIN_CSRF_COOKIE = "ljun_login_csrf"

# How long a writer waits for the store's write lock, seconds.
_BUSY_TIMEOUT_S = 30.0

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on
    # form posts, which makes them cross-site and drops the SameSite=Strict cookies.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}

# Pages reachable without a session.
_PUBLIC_ENDPOINTS = {"review.login", "static", "review.favicon"}

# Length of a token from secrets.token_urlsafe(32).
_TOKEN_CHARS = 43


bp = Blueprint("review", __name__)


def db() -> sqlite3.Connection:
    """This request's connection to the store (autocommit mode)."""
    if "db" not in g:
        path = current_app.config["LJUN_DB"]
        g.db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        g.db.execute("PRAGMA foreign_keys = ON")
    connection: sqlite3.Connection = g.db
    return connection


@bp.teardown_app_request
def close_db(_: BaseException | None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def language() -> str:
    session = g.get("session")
    if session is not None:
        return str(session.language)
    chosen = request.cookies.get("ljun_lang", DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def t(message_id: str, **fields: object) -> str:
    return text(message_id, language(), **fields)


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    lang = language()
    return {
        "t": t,
        "lang": lang,
        "languages": LANGUAGES,
        "flag_text": lambda flag: flag_text(flag, lang),
        "session": g.get("session"),
    }


@bp.before_app_request
def require_session() -> Response | None:
    g.session = auth.session_for(db(), request.cookies.get(SESSION_COOKIE))
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None
    if g.session is None:
        if request.method == "GET" and request.accept_mimetypes.accept_html:
            return redirect(url_for(".login"))
        abort(401)
    if request.method == "POST":
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent.encode(), g.session.csrf_token.encode()):
            return _refused(t("csrf_refused"))
    return None


def _refused(message: str) -> Response:
    response = make_response(message, 403)
    response.mimetype = "text/plain"
    return response


@bp.after_app_request
def security_headers(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def set_cookie(response: Response, name: str, value: str, **options: Any) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/",
        **options,
    )


# ------------------------------------------------------------------ login


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    error = ""
    if request.method == "POST":
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        sent = request.form.get("csrf_token", "")
        if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
            return _refused(t("csrf_refused"))
        lang = request.form.get("lang", DEFAULT_LANGUAGE)
        result = auth.login(
            db(),
            request.form.get("name", ""),
            request.form.get("password", ""),
            language=lang if lang in LANGUAGES else DEFAULT_LANGUAGE,
        )
        if isinstance(result, tuple):
            _, token = result
            response = redirect(url_for(".queue"), code=303)
            set_cookie(response, SESSION_COOKIE, token)
            response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
            return response
        error = t("login_locked" if result == "locked" else "login_wrong")
    # Reuse the cookie's token: a second GET (the browser's favicon request
    # redirected here, another tab) must not invalidate the form shown.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(token) < _TOKEN_CHARS:
        token = secrets.token_urlsafe(32)
    response = make_response(
        render_template("login.html", csrf_token=token, error=error), 401 if error else 200
    )
    set_cookie(response, LOGIN_CSRF_COOKIE, token)
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    return make_response("", 204)


@bp.post("/logout")
def logout() -> Response:
    auth.logout(db(), request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for(".login"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@bp.post("/language")
def set_language() -> Response:
    lang = request.form.get("lang", DEFAULT_LANGUAGE)
    token = request.cookies.get(SESSION_COOKIE, "")
    if lang in LANGUAGES:
        auth.set_language(db(), token, lang)
    return redirect(request.form.get("back") or url_for(".queue"), code=303)


# ------------------------------------------------------------------ queue


def filters() -> dict[str, Any]:
    batch = request.args.get("batch", "")
    return {
        "batch": int(batch) if batch.isdigit() else None,
        "source": request.args.get("source", "")[:200],
        "reason": request.args.get("reason", "")[:100],
    }


@bp.get("/")
def queue() -> Response:
    chosen = filters()
    found = load_queue(db(), **chosen)
    return make_response(render_template("queue.html", queue=found, filters=chosen))


@bp.get("/next")
def next_sheet() -> Response:
    found = load_queue(db(), **filters())
    skip = request.args.get("after", "")
    for entry in found.open:
        if str(entry.page_id) != skip:
            return redirect(url_for(".sheet", page_id=entry.page_id, **_query()), code=303)
    return redirect(url_for(".queue", **_query()), code=303)


def _query() -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if k in ("batch", "source", "reason") and v}


# ------------------------------------------------------------------ sheet


@bp.get("/sheet/<int:page_id>")
def sheet(page_id: int) -> Response:
    state = load_sheet(db(), page_id)
    if state is None:
        abort(404)
    template = load_template(state.reading.template)
    items, sheet_flags = review_items(state, template)
    stored = ensure_review_image(db(), state, template)
    image = stored.image if stored is not None else None
    lang = language()
    darkness = state.reading.darkness
    scale = (image.dpi / REFERENCE_DPI) if image is not None and image.registered else 0.0
    bubbles = sorted({b for item in items for b in item.bubbles})
    geometry = template.geometry(REFERENCE_DPI)
    data = {
        "page_id": state.page_id,
        "version": state.version,
        "status": state.status,
        "failed": state.reading.failure is not None,
        "image": None
        if image is None
        else {
            "url": url_for(".sheet_image", page_id=page_id),
            "width": image.width,
            "height": image.height,
            "registered": image.registered,
            "scale": scale,
        },
        # Positions of every bubble (grid overlay); darkness only of those asked about.
        "centres": [] if image is None else image.centres.round(1).ravel().tolist(),
        "radii": [] if image is None else image.radii.round(1).tolist(),
        "darkness": {
            str(b): format_number(float(darkness[b]), lang) for b in bubbles if b < darkness.size
        },
        "items": [
            {
                "key": item.key,
                "field": item.field,
                "item": item.item,
                "kind": item.kind,
                "options": list(item.options),
                "value": item.value,
                "letters": template.field(item.field).kind == "letters",
                "title": _item_title(item.field, item.item, lang),
                "flags": [flag_text(f, lang) for f in item.flags],
                "bubbles": list(item.bubbles),
            }
            for item in items
        ],
        "sheet_flags": [flag_text(f, lang) for f in sheet_flags],
        # For typing an identity field whole ("/"): its value, title and bubbles.
        "fields": {
            name: {
                "value": getattr(state.reading, name),
                "title": _item_title(name, 0, lang),
                "bubbles": [int(b) for b in geometry.grid(name).ravel()],
            }
            for name in ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi")
            if template.has_field(name) and state.reading.failure is None
        },
        "decide_url": url_for(".decide", page_id=page_id),
        "corners_url": url_for(".corners", page_id=page_id),
        "corners": [text(f"corner_{label}", lang) for label in corner_labels(template)],
        "next_url": url_for(".next_sheet", after=page_id, **_query()),
        "queue_url": url_for(".queue", **_query()),
        "messages": {
            key: text(key, lang)
            for key in MESSAGES
            if key.startswith(("keys_", "value_", "error_", "corners_"))
            or key in ("conflict", "saved", "machine_read", "decided", "darkness")
        },
    }
    return make_response(
        render_template(
            "sheet.html",
            state=state,
            sheet_flags=sheet_flags,
            items=items,
            data=_script_json(data),
            has_image=image is not None,
        )
    )


def _item_title(field_name: str, item: int, lang: str) -> str:
    if field_name == "answers":
        return text("item_answers", lang, item=item)
    label = text(f"field_{field_name}", lang)
    if item == 0:
        return text("item_whole", lang, field=label)
    return text("item_column", lang, field=label, item=item)


@bp.get("/sheet/<int:page_id>/image")
def sheet_image(page_id: int) -> Response:
    state = load_sheet(db(), page_id)
    if state is None:
        abort(404)
    stored = ensure_review_image(db(), state, load_template(state.reading.template))
    if stored is None:
        abort(404)
    response = make_response(stored.image.data)
    response.mimetype = stored.image.media_type
    return response


def _json_error(message_id: str, status: int, field_name: str = "") -> Response:
    response = jsonify({"error": t(message_id), "field": field_name})
    response.status_code = status
    return response


def _guarded(action: Callable[[], Response]) -> Response:
    try:
        return action()
    except Conflict:
        return _json_error("conflict", 409)
    except DecisionError as exc:
        return _json_error(exc.message_id, 422, exc.field_name)
    except StoreError:
        return _json_error("conflict", 503)


@bp.post("/sheet/<int:page_id>/decide")
def decide(page_id: int) -> Response:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("decisions"), dict):
        abort(400)
    decisions = {str(k): str(v) for k, v in payload["decisions"].items()}
    version = payload.get("version")
    if not isinstance(version, int):
        abort(400)
    state = load_sheet(db(), page_id)
    if state is None:
        abort(404)
    template = load_template(state.reading.template)

    def run() -> Response:
        outcome = decide_sheet(
            db(),
            page_id,
            version=version,
            decisions=decisions,
            operator=g.session.user.name,
            template=template,
        )
        return jsonify({"status": outcome.status, "version": outcome.version})

    return _guarded(run)


def _form_action(page_id: int, action: Callable[..., Any]) -> Response:
    version = request.form.get("version", "")
    if not version.isdigit():
        abort(400)

    def run() -> Response:
        action(
            db(),
            page_id,
            version=int(version),
            operator=g.session.user.name,
            reason=request.form.get("reason", "")[:500],
        )
        return redirect(url_for(".next_sheet", after=page_id), code=303)

    response = _guarded(run)
    if response.status_code in (409, 422, 503):
        message = response.get_json()["error"]
        return make_response(
            render_template("message.html", message=message, page_id=page_id),
            response.status_code,
        )
    return response


@bp.post("/sheet/<int:page_id>/reject")
def reject(page_id: int) -> Response:
    return _form_action(page_id, reject_sheet)


@bp.post("/sheet/<int:page_id>/corners")
def corners(page_id: int) -> Response:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("version"), int):
        abort(400)
    points = payload.get("points")
    if not isinstance(points, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) for v in p)
        for p in points
    ):
        abort(400)
    state = load_sheet(db(), page_id)
    if state is None:
        abort(404)
    template = load_template(state.reading.template)

    def run() -> Response:
        outcome = register_by_corners(
            db(),
            page_id,
            version=payload["version"],
            points=points,
            operator=g.session.user.name,
            template=template,
        )
        return jsonify({"status": outcome.status, "version": outcome.version})

    return _guarded(run)


@bp.post("/sheet/<int:page_id>/enter")
def enter(page_id: int) -> Response:
    state = load_sheet(db(), page_id)
    if state is None:
        abort(404)
    template = load_template(state.reading.template)
    values = {name: request.form.get(name, "")[:200] for name in HAND_FIELDS}

    def by_hand(connection: sqlite3.Connection, page: int, **options: Any) -> Any:
        return enter_by_hand(connection, page, values=values, template=template, **options)

    return _form_action(page_id, by_hand)


@bp.post("/sheet/<int:page_id>/reopen")
def reopen(page_id: int) -> Response:
    if g.session.user.role != "supervisor":
        return _refused(t("forbidden"))
    return _form_action(page_id, reopen_sheet)


def create_app(db_path: str | Path) -> Flask:
    """The review application for the results store ``db_path`` (which must exist)."""
    path = str(db_path)
    open_store(path, create=False).close()  # checks the file, applies the store's steps
    app = Flask(__name__)
    app.config["LJUN_DB"] = path
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024  # no form of this app is larger
    app.register_blueprint(bp)
    return app


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``)."""
    encoded = json.dumps(value, ensure_ascii=False)
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def serve(db_path: str | Path, *, host: str, port: int, threads: int = 4) -> None:
    """Serve the application with waitress until interrupted."""
    from waitress import serve as waitress_serve

    waitress_serve(create_app(db_path), host=host, port=port, threads=threads, ident="ljun")
