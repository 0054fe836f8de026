"""The KVKK consent page at /k/<token>: a server-rendered Turkish page, one answer.

GET shows the consent text with two large buttons (or the recorded answer, or why the
link cannot be used); POST records the answer. The form carries a token signed with the
platform's secret (itsdangerous) and bound to the link, so only a form this server
rendered, recently, can answer. Forged or unknown links are 404, expired ones 410, a bad
form 400: always a page, never the JSON envelope and never a 500.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, Response, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from service.domain.errors import DomainError
from service.domain.kvkk import Answer, LinkState
from service.services import kvkk
from service.services.platform import Platform

log = logging.getLogger("finsms.kvkk")

# A rendered form stays valid this long (seconds); then the page asks for a reload.
FORM_MAX_AGE = 24 * 3600
DEFAULT_TEXT = (
    "6698 sayılı Kişisel Verilerin Korunması Kanunu kapsamında, kişisel verilerinizin "
    "size ticari elektronik ileti gönderilmesi amacıyla işlenmesine ve İleti Yönetim "
    "Sistemi'ne (İYS) kaydedilmesine onay veriyor musunuz?"
)
TITLE = "KVKK İzin Onayı"
_GONE = "Bu linkin süresi dolmuş. Yeni bir izin linki için gönderen firmaya başvurun."
_NOT_FOUND = "Bu link geçerli değil. Lütfen size gönderilen mesajdaki linki kullanın."
_BAD_FORM = "Form süresi dolmuş veya geçersiz. Lütfen sayfayı yenileyip tekrar deneyin."
_BROKEN = "Şu anda yanıtınızı alamıyoruz. Lütfen biraz sonra tekrar deneyin."


def make_kvkk_blueprint(platform: Platform) -> Blueprint:
    """The blueprint of the consent page over this platform."""
    bp = Blueprint("kvkk", __name__, template_folder="templates")
    # /sms/create-kvkk refuses to send links without FINSMS_SECRET_KEY: a per-process
    # secret would not verify forms across workers or restarts.
    secret = platform.settings.secret_key or secrets.token_hex(32)

    def signer() -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(secret, salt="finsms-kvkk-form")

    @bp.get("/k/<token>")
    def show(token: str) -> Response:
        try:
            opened = kvkk.open_link(platform, token)
        except DomainError:
            return _problem(_NOT_FOUND, 404)
        return _render(opened, signer().dumps(token))

    @bp.post("/k/<token>")
    def answer(token: str) -> Response:
        # The link first: a forged or expired link is 404/410 whatever the form holds.
        try:
            opened = kvkk.open_link(platform, token)
        except DomainError:
            return _problem(_NOT_FOUND, 404)
        if opened.state is not LinkState.OPEN:
            return _render(opened, signer().dumps(token))
        choice = request.form.get("answer", "")
        if choice not in (Answer.APPROVED.value, Answer.REFUSED.value) or not _signed_for(
            signer(), request.form.get("csrf_token", ""), token
        ):
            return _problem(_BAD_FORM, 400)
        opened = kvkk.answer(
            platform,
            token,
            choice == Answer.APPROVED.value,
            request.remote_addr,
            request.user_agent.string,
        )
        return _render(opened, signer().dumps(token))

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        # E.g. a form body over FINSMS_MAX_BODY_BYTES (413): still a page, with its status.
        return _problem(_BAD_FORM, exc.code or 400)

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("KVKK page failed")
        return _problem(_BROKEN, 503)

    def _render(opened: kvkk.Opened, csrf_token: str) -> Response:
        link = opened.link
        if opened.state is LinkState.EXPIRED:
            return _problem(_GONE, 410, brand=link.sender)
        answered = link.answered_at
        return _page(
            200,
            state=opened.state.value,
            brand=link.sender,
            name=f"{link.first_name} {link.last_name}",
            consent_text=platform.settings.kvkk_text or DEFAULT_TEXT,
            csrf_token=csrf_token,
            answer=link.answer,
            answered_at=(
                f"{platform.local.to_local(answered):%d.%m.%Y %H:%M}" if answered else None
            ),
        )

    return bp


def _signed_for(signer: URLSafeTimedSerializer, form_token: str, token: str) -> bool:
    """Whether the form's token was signed by this server, recently, for this link."""
    try:
        return bool(signer.loads(form_token, max_age=FORM_MAX_AGE) == token)
    except BadSignature:
        return False


def _problem(message: str, status: int, brand: str | None = None) -> Response:
    return _page(status, state="problem", message=message, brand=brand)


def _page(status: int, **context: Any) -> Response:
    html = render_template("kvkk.html", title=TITLE, **context)
    response = Response(html, status=status, mimetype="text/html")
    # The page holds a personal name and a one-time form: never cached, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
