"""The listening-test web app (FastAPI): participant pages, the JSON API, and admin pages.

Participant side (no login; the session token in the URL is the only credential):

    GET  /e/{experiment}                   join page (anonymous link)
    POST /api/e/{experiment}/join          -> {"token", "url"}
    GET  /s/{token}                        the test (resumes where the participant left off)
    GET  /api/s/{token}/state              the current trial (opaque ids and URLs only)
    POST /api/s/{token}/answer             {"trial", "response", "replays", "elapsed_ms"},
                                           header Idempotency-Key; -> {"stored", "duplicate", "feedback", "next"}
    GET  /s/{token}/audio/{trial}/{sid}    a stimulus of the current trial

Admin side (admin token as ``?token=``, ``Authorization: Bearer``, or the cookie set by the
first): ``/admin``, ``/admin/e/{experiment}``, its ``plot.svg``, ``export.csv``,
``summary.csv`` and, for JND, ``export.jsonl``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError

from earshot.listening import export
from earshot.listening.protocols import AnswerError
from earshot.listening.security import (BodyLimitMiddleware, RateLimiter, SecurityHeadersMiddleware,
                                        retry_after, tokens_equal)
from earshot.listening.service import Conflict, ListeningService, NotFound
from earshot.psycho.judgments import judgments_text

HERE = Path(__file__).parent
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
COOKIE = "earshot_admin"


class AnswerIn(BaseModel):
    """The body of an answer POST; anything else is rejected (422)."""

    model_config = ConfigDict(extra="forbid")
    trial: str = Field(min_length=1, max_length=64)
    response: dict
    replays: int = Field(default=0, ge=0, le=10_000)
    elapsed_ms: int = Field(default=0, ge=0, le=86_400_000)


class _Limits:
    """Rate limiters per experiment: API calls and audio per participant, joins per address."""

    def __init__(self, service: ListeningService):
        self.api, self.audio, self.join = {}, {}, {}
        for name, exp in service.experiments.items():
            r = exp.rate_limit
            self.api[name] = RateLimiter(r.api_per_second, r.api_burst)
            self.audio[name] = RateLimiter(r.audio_per_second, r.audio_burst)
            self.join[name] = RateLimiter(r.join_per_minute / 60, max(1.0, r.join_per_minute / 6))

    @staticmethod
    def check(limiter: RateLimiter, key: str) -> None:
        ok, wait = limiter.allow(key)
        if not ok:
            raise HTTPException(429, "too many requests; slow down", headers={"Retry-After": retry_after(wait)})


def create_app(service: ListeningService, *, admin_token: str, max_body_bytes: int = 16384) -> FastAPI:
    """The ASGI app serving ``service``'s experiments; admin pages need ``admin_token``."""
    if len(admin_token) < 16:
        raise ValueError("the admin token must be at least 16 characters")
    app = FastAPI(title="earshot listening test", docs_url=None, redoc_url=None, openapi_url=None)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    limits = _Limits(service)
    _errors(app, templates)
    _participant_routes(app, service, templates, limits)
    _admin_routes(app, service, templates, admin_token)
    return app


def _errors(app: FastAPI, templates) -> None:
    def handler(status: int):
        def respond(request: Request, exc: Exception):
            if request.url.path.startswith("/api/"):
                return JSONResponse({"detail": str(exc)}, status_code=status)
            return templates.TemplateResponse(request, "error.html", {"status": status, "message": str(exc)},
                                              status_code=status)
        return respond

    app.add_exception_handler(NotFound, handler(404))
    app.add_exception_handler(Conflict, handler(409))
    app.add_exception_handler(AnswerError, handler(422))

    def busy(request: Request, exc: Exception):
        return JSONResponse({"detail": "the database is busy; retry"}, status_code=503, headers={"Retry-After": "1"})

    app.add_exception_handler(OperationalError, busy)


def _participant_routes(app: FastAPI, service: ListeningService, templates, limits: _Limits) -> None:
    @app.get("/healthz")
    def healthz():
        return {"ok": True, "experiments": sorted(service.experiments)}

    @app.get("/")
    def index(request: Request):
        return templates.TemplateResponse(request, "index.html", {})

    @app.get("/e/{name}")
    def join_page(request: Request, name: str):
        exp = service.experiment(name)
        return templates.TemplateResponse(request, "join.html", {"exp": exp})

    @app.post("/api/e/{name}/join")
    def join(request: Request, name: str):
        service.experiment(name)
        limits.check(limits.join[name], request.client.host if request.client else "?")
        token = service.join(name)
        return JSONResponse({"token": token, "url": f"/s/{token}"}, headers={"Cache-Control": "no-store"})

    def session_experiment(token: str, table: dict) -> str:
        name = service.experiment_of(token)
        limits.check(table[name], token)
        return name

    @app.get("/s/{token}")
    def session_page(request: Request, token: str):
        exp = service.experiment(session_experiment(token, limits.api))
        return templates.TemplateResponse(request, "session.html", {"exp": exp, "token": token},
                                          headers={"Cache-Control": "no-store"})

    @app.get("/api/s/{token}/state")
    def state(token: str):
        session_experiment(token, limits.api)
        return JSONResponse(service.state(token), headers={"Cache-Control": "no-store"})

    @app.post("/api/s/{token}/answer")
    def answer(token: str, body: AnswerIn, idempotency_key: str | None = Header(default=None)):
        if not idempotency_key or not KEY.match(idempotency_key):
            raise HTTPException(400, "an Idempotency-Key header of 8-64 letters, digits, '-' or '_' is required")
        session_experiment(token, limits.api)
        reply = service.answer(token, body.trial, idempotency_key, body.response, replays=body.replays,
                               elapsed_ms=body.elapsed_ms)
        return JSONResponse(reply, headers={"Cache-Control": "no-store"})

    @app.get("/s/{token}/audio/{trial}/{sid}")
    def audio(token: str, trial: str, sid: str):
        session_experiment(token, limits.audio)
        data, media_type = service.audio(token, trial, sid)
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})


def _admin_auth(admin_token: str):
    """``(authorise, enter)``: check the admin token; ``enter`` also turns ``?token=`` into a cookie."""

    def authorise(request: Request) -> None:
        auth = request.headers.get("authorization", "")
        supplied = (request.query_params.get("token") or (auth[7:] if auth.lower().startswith("bearer ") else None)
                    or request.cookies.get(COOKIE))
        if not supplied:
            raise HTTPException(401, "admin token required", headers={"WWW-Authenticate": "Bearer"})
        if not tokens_equal(admin_token, supplied):
            raise HTTPException(403, "wrong admin token")

    def enter(request: Request):
        """Authorise; a valid ``?token=`` becomes a cookie and is dropped from the URL."""
        authorise(request)
        if "token" in request.query_params:
            response = RedirectResponse(request.url.path, status_code=303)
            response.set_cookie(COOKIE, request.query_params["token"], httponly=True, samesite="strict", path="/admin")
            return response
        return None

    return authorise, enter


def _admin_routes(app: FastAPI, service: ListeningService, templates, admin_token: str) -> None:
    authorise, enter = _admin_auth(admin_token)

    @app.get("/admin")
    def admin_index(request: Request):
        if (redirect := enter(request)) is not None:
            return redirect
        rows = [{"exp": exp, "counts": service.store.counts(name)} for name, exp in service.experiments.items()]
        return templates.TemplateResponse(request, "admin_index.html", {"rows": rows},
                                          headers={"Cache-Control": "no-store"})

    @app.get("/admin/e/{name}")
    def admin_experiment(request: Request, name: str):
        if (redirect := enter(request)) is not None:
            return redirect
        exp = service.experiment(name)
        kind, records = export.load_records(service.store, name)
        rows, notes = export.summary(kind, records)
        return templates.TemplateResponse(
            request, "admin_experiment.html",
            {"exp": exp, "counts": service.store.counts(name), "rows": rows, "notes": notes},
            headers={"Cache-Control": "no-store"})

    @app.get("/admin/e/{name}/plot.svg")
    def admin_plot(request: Request, name: str):
        authorise(request)
        service.experiment(name)
        kind, records = export.load_records(service.store, name)
        from earshot.listening import plots  # matplotlib: loaded on first use only

        return Response(plots.results_svg(kind, name, records), media_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})

    @app.get("/admin/e/{name}/{file}")
    def admin_export(request: Request, name: str, file: str):
        authorise(request)
        service.experiment(name)
        kind, records = export.load_records(service.store, name)
        if file == "export.jsonl" and kind == "jnd":
            lines = export.jnd_lines(records, experiment=name)
            body, media = judgments_text(lines), "application/x-ndjson"
        elif file == "export.csv":
            body, media = export.csv_text(*export.raw_table(kind, records)), "text/csv"
        elif file == "summary.csv":
            body, media = export.csv_text(*export.summary_table(kind, records)), "text/csv"
        else:
            raise NotFound("no such export")
        return Response(body, media_type=media, headers={
            "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}-{file}"'})

