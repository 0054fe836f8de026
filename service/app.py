"""The WSGI application: the Flask JSON API and the Spyne SOAP API on one port."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from service.api.finsms.blueprint import make_facade_blueprint
from service.api.finsms.keys import make_keys_blueprint
from service.api.json.blueprint import envelope, make_blueprint, method_not_allowed
from service.api.kvkk_page import make_kvkk_blueprint
from service.api.mo_push import make_mo_push_blueprint
from service.api.soap import make_soap_app
from service.config import Settings
from service.domain.errors import DomainError, Err
from service.services.platform import Platform

log = logging.getLogger("finsms.app")

_HTTP_ERRORS = {
    404: Err.ERR_NOT_FOUND,
    413: Err.ERR_REQUEST_TOO_LARGE,
}


def create_flask(platform: Platform) -> Flask:
    """The Flask app of the JSON APIs, with every error as a Node API envelope."""
    app = Flask("finsms")
    app.config["MAX_CONTENT_LENGTH"] = platform.settings.max_body_bytes
    app.extensions["finsms.platform"] = platform
    app.register_blueprint(make_blueprint(platform))
    app.register_blueprint(make_mo_push_blueprint(platform))
    app.register_blueprint(make_kvkk_blueprint(platform))
    app.register_blueprint(make_facade_blueprint(platform))
    app.register_blueprint(make_keys_blueprint(platform))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if isinstance(exc, MethodNotAllowed):
            return method_not_allowed(exc.valid_methods or ())
        err = _HTTP_ERRORS.get(exc.code or 500, Err.ERR_BAD_REQUEST)
        return envelope(error=DomainError(err))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return envelope(error=DomainError(Err.ERR_INTERNAL_SERVER))

    @app.get("/health")
    def _health() -> Response:
        # Load balancers take a server out on non-200: answer 503 when the database is gone.
        try:
            platform.ping()
        except Exception:
            log.exception("health check: database unreachable")
            return envelope(error=DomainError(Err.ERR_SYSTEM_MAINTENANCE, "Veritabanı yok."))
        return envelope({"status": "ok"})

    return app


def create_app(settings: Settings | None = None, *, platform: Platform | None = None) -> Any:
    """The whole WSGI app: JSON at /, SOAP at /soap, behind ProxyFix when trusted."""
    platform = platform or Platform(settings or Settings.from_env())
    flask_app = create_flask(platform)
    app: Any = DispatcherMiddleware(flask_app, {"/soap": make_soap_app(platform)})
    hops = platform.settings.trusted_proxies
    if hops:
        app = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.platform = platform
    app.flask = flask_app
    return app
