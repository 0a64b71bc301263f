"""The annotation web app: a thin HTTP layer over :mod:`.store` and :mod:`.sampling`.

Pages (``/label``, ``/passages``, ``/adjudicate``, ``/agreement``, ``/login``) are plain
HTML rendered by Jinja with autoescaping; everything that comes from a
document (passage text, titles, headings, comments) reaches the browser only
as JSON and is put on the page with ``textContent``, never ``innerHTML``, so
an HTML or script payload inside a policy document shows as text. A
Content-Security-Policy that allows scripts only from ``/static`` is a
second line of defence.

Security model, for a tool that normally runs on one person's machine or a
team's private network:

* The CLI binds ``127.0.0.1`` unless told otherwise, and then also refuses
  requests whose ``Host`` header is not a loopback name (DNS rebinding).
* Annotators sign in by name; an optional access token (``--token``) keeps
  out people who can reach the port but were not given the token. The
  session is an HMAC-signed cookie (``HttpOnly``, ``SameSite=Strict``).
* Every state-changing request (``POST``) must carry the double-submit
  CSRF token (cookie ``cc_csrf`` = header ``X-CSRF-Token``), must be JSON,
  and must not come from another origin (``Origin``/``Referer``/
  ``Sec-Fetch-Site`` checked). A page on another site can therefore neither
  forge a decision nor sign someone in under a chosen name.
* Every error, whatever raised it, comes back as
  ``{"ok": false, "error": str, "errors": [str], "status": int}``; tracebacks
  and passage text never reach the response. That includes hostile bodies:
  JSON nested deeper than :data:`MAX_JSON_DEPTH` is a 400, not a crash.
* Failed sign-ins with a wrong access token are throttled per client and in
  total (:class:`LoginThrottle`): after a few failures the client must wait,
  with a delay that doubles, so the token cannot be guessed at network speed.
* After sign-in the browser goes only to one of the app's own pages
  (:func:`safe_next`): ``?next=`` never leads to another site, whatever
  backslashes, tabs or encodings it holds.
* Reviewer rules: only a reviewer may change settings; through the app the
  reviewers list can be changed but never emptied (empty means "everyone is a
  reviewer") and never without the person changing it, so nobody signed in
  can hand review rights to everyone or lock the reviewers out. Clearing the
  list is left to the person who runs the server (``annotate serve --reviewer``
  or the store's Python API).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import AnnotationError, CocreationError
from . import sampling
from .adjudication import PRESELECT_RULE
from .evidence import rule_evidence
from .provenance import normalize_annotator
from .records import FORMATS, dumps_records, label_studio_config
from .search import PassageQuery
from .settings import SETTINGS
from .store import AnnotationStore

__all__ = [
    "LOOPBACK_HOSTS",
    "MAX_JSON_DEPTH",
    "PAGES",
    "ApiError",
    "LoginThrottle",
    "create_app",
    "error_body",
    "safe_next",
]

log = logging.getLogger(__name__)

SESSION_COOKIE = "cc_session"
CSRF_COOKIE = "cc_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_MAX_AGE_S = 14 * 24 * 3600
MAX_BODY_BYTES = 1_000_000
# No request body of this app nests deeper than 2; 32 leaves room and stops
# hostile bodies long before the JSON decoder's recursion limit.
MAX_JSON_DEPTH = 32
# The pages a sign-in may lead back to; anything else in ?next= goes to /label.
PAGES: tuple[str, ...] = ("/label", "/adjudicate", "/agreement", "/passages")
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class ApiError(Exception):
    """An error with an HTTP status, turned into the one JSON error shape."""

    def __init__(
        self, status: int, error: str, errors: Sequence[str] = (), headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.errors = list(errors) or [error]
        self.headers = headers or {}


def error_body(status: int, error: str, errors: Sequence[str] = ()) -> dict[str, Any]:
    """The one JSON error shape of the app.

    Example:
        >>> error_body(404, "No such page")
        {'ok': False, 'error': 'No such page', 'errors': ['No such page'], 'status': 404}
    """
    return {"ok": False, "error": error, "errors": list(errors) or [error], "status": status}


def _clean_json(value: Any) -> Any:
    """Replace NaN/inf (undefined agreement) with ``None``: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), without recursion.

    Example:
        >>> json_depth({"a": [1, {"b": []}]})
        4
    """
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            depth = max(depth, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            depth = max(depth, level)
            stack.extend((v, level + 1) for v in item)
    return depth


def safe_next(target: str | None) -> str:
    r"""Where to send the browser after sign-in: ``target`` if it is one of the app's pages, else ``/label``.

    Browsers read ``/\evil.example/`` and ``/<TAB>/evil.example/`` (they strip
    tabs and newlines from URLs) as ``//evil.example/``, another site. Rather
    than out-guess every such normalisation, only the app's own page paths
    (:data:`PAGES`) are accepted, exactly as written.

    Example:
        >>> safe_next("/agreement"), safe_next("/\\evil.example/"), safe_next("/\t/evil.example/")
        ('/agreement', '/label', '/label')
    """
    return target if target in PAGES else "/label"


class LoginThrottle:
    """Slow down access-token guessing: failures are counted per client and in total.

    A client with ``per_client`` failures inside ``window_s`` seconds must wait
    ``base_delay_s`` before trying again, and each further failure doubles the
    wait (up to ``max_delay_s``). Failures from all clients together are capped
    too (``total`` per window), so spreading guesses over many addresses does
    not help. A successful sign-in clears that client's failures. Locked-out
    requests are refused before the token is compared, so a locked client
    learns nothing, not even from a right guess.
    """

    def __init__(
        self,
        *,
        per_client: int = 5,
        total: int = 50,
        window_s: float = 300.0,
        base_delay_s: float = 30.0,
        max_delay_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.total = total
        self.window_s = window_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._locked_until: dict[str, float] = {}
        self._global_until = 0.0
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        horizon = now - self.window_s
        while self._all and self._all[0] < horizon:
            self._all.popleft()
        for key in list(self._failures):
            times = self._failures[key]
            while times and times[0] < horizon:
                times.popleft()
            if not times and self._locked_until.get(key, 0.0) <= now:
                del self._failures[key]
                self._locked_until.pop(key, None)

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must still wait before another sign-in attempt (0: it may try now)."""
        with self._lock:
            now = self.clock()
            self._prune(now)
            wait = max(self._locked_until.get(client, 0.0), self._global_until) - now
            return max(0.0, wait)

    def failure(self, client: str) -> float:
        """Record a wrong token from ``client``; return how long it must now wait (0: none)."""
        with self._lock:
            now = self.clock()
            self._prune(now)
            times = self._failures.setdefault(client, deque())
            times.append(now)
            self._all.append(now)
            if len(self._all) >= self.total:
                self._global_until = now + self.base_delay_s
            over = len(times) - self.per_client
            if over >= 0:
                delay = min(self.max_delay_s, self.base_delay_s * 2**over)
                self._locked_until[client] = now + delay
            wait = max(self._locked_until.get(client, 0.0), self._global_until) - now
            return max(0.0, wait)

    def success(self, client: str) -> None:
        """Forget ``client``'s failures after a right token."""
        with self._lock:
            self._failures.pop(client, None)
            self._locked_until.pop(client, None)


def ok(data: dict[str, Any] | None = None, status: int = 200) -> JSONResponse:
    """A success response ``{"ok": true, ...}``."""
    return JSONResponse(_clean_json({"ok": True, **(data or {})}), status_code=status)


def _error_response(
    status: int, error: str, errors: Sequence[str] = (), headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(status, error, errors),
        status_code=status,
        headers={**_SECURITY_HEADERS, **(headers or {})},
    )


_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


# ---------------------------------------------------------------------- request bodies


class LoginBody(BaseModel):
    """Sign-in request."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    token: str = Field(default="", max_length=1024)
    next: str = Field(default="", max_length=2048)


class DecisionBody(BaseModel):
    """A decision from the labelling view."""

    model_config = ConfigDict(extra="forbid")
    passage_id: str = Field(min_length=1)
    labels: list[str] = Field(default_factory=list)
    comment: str = Field(default="", max_length=5000)
    flagged: bool = False
    skipped: bool = False
    lead_time: float | None = Field(
        default=None,
        ge=0,
        le=7 * 24 * 3600,
        description="Seconds this version of the answer took (browser-measured).",
    )


class GoldBody(BaseModel):
    """A reviewer's adjudicated labels."""

    model_config = ConfigDict(extra="forbid")
    passage_id: str = Field(min_length=1)
    labels: list[str] = Field(default_factory=list)
    comment: str = Field(default="", max_length=5000)
    lead_time: float | None = Field(
        default=None, ge=0, le=7 * 24 * 3600, description="Seconds the reviewer spent (browser-measured)."
    )


SettingsBody: type[BaseModel] = create_model(
    "SettingsBody",
    __config__=ConfigDict(extra="forbid"),
    __doc__="A change of project settings (only the names given are changed; the store validates values).",
    **{s.name: (Any, None) for s in SETTINGS},  # type: ignore[call-overload]
)
"""Request body of ``POST /api/settings``: one optional field per declared setting."""


# ---------------------------------------------------------------------- sessions


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """HMAC-signed session cookies: ``name.issued.signature``.

    The signing key mixes the project's secret with the access token, so
    restarting the server with a new token signs everyone out.
    """

    def __init__(self, secret: str, token: str | None) -> None:
        self._key = hashlib.sha256(f"{secret}\x00{token or ''}".encode()).digest()

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, name: str) -> str:
        """A cookie value for ``name``."""
        payload = f"{_b64(name.encode('utf-8'))}.{int(time.time())}"
        return f"{payload}.{self._sign(payload)}"

    def read(self, value: str | None) -> str | None:
        """The annotator name in a valid, unexpired cookie, else ``None``."""
        if not value or value.count(".") != 2:
            return None
        name_b64, issued, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(f"{name_b64}.{issued}")):
            return None
        try:
            if time.time() - int(issued) > SESSION_MAX_AGE_S:
                return None
            return _unb64(name_b64).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None


# ---------------------------------------------------------------------- middleware


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SecurityMiddleware:
    """Host allow-list, body size limit, CSRF checks on unsafe methods, and security headers.

    A plain ASGI middleware rather than ``BaseHTTPMiddleware``, so that an
    error raised while the body is read (too large) reaches the app's
    exception handlers and comes back in the one JSON error shape.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = {h.lower().strip("[]") for h in allowed_hosts} if allowed_hosts else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse bad hosts, oversized bodies and cross-site writes; add headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        problem: tuple[int, str] | None = None
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            problem = (
                400,
                f"Host {host!r} is not allowed. Open the app at http://127.0.0.1:<port>/ as printed by `serve`.",
            )
        elif _content_length(request) > MAX_BODY_BYTES:
            problem = (413, f"Request body too large (limit {MAX_BODY_BYTES} bytes).")
        elif request.method in UNSAFE_METHODS:
            reason = _csrf_problem(request)
            problem = (403, reason) if reason else None
        if problem is not None:
            await _error_response(*problem)(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise HTTPException(413, f"Request body too large (limit {MAX_BODY_BYTES} bytes).")
            return message

        static = request.url.path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in _SECURITY_HEADERS.items():
                    if key == "Cache-Control" and static:
                        continue
                    if key not in headers:
                        headers[key] = value
            await send(message)

        await self.app(scope, limited_receive, send_with_headers)


def _content_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _expected_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}".lower()


def _csrf_problem(request: Request) -> str | None:
    """Why a state-changing request must be refused, or ``None`` when it may pass."""
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return "Cross-site request refused (Sec-Fetch-Site: cross-site)."
    expected = _expected_origin(request)
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() != expected:
        return f"Cross-origin request refused: Origin {origin!r} is not {expected!r}."
    referer = request.headers.get("referer")
    if origin is None and referer:
        if not (referer.lower() == expected or referer.lower().startswith(expected + "/")):
            return "Cross-origin request refused: the Referer is another site."
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie, header):
        return (
            "CSRF token missing or wrong: send the value of the cc_csrf cookie in the X-CSRF-Token header. "
            "Reload the page if this persists."
        )
    return None


def _set_csrf_cookie(response: Response, value: str | None = None) -> str:
    value = value or secrets.token_urlsafe(32)
    # Readable by the page's own script (double submit); SameSite=Strict keeps
    # other sites from sending it.
    response.set_cookie(CSRF_COOKIE, value, httponly=False, samesite="strict", path="/")
    return value


# ---------------------------------------------------------------------- the app


def _package_dir(name: str) -> Path:
    return Path(str(resources.files(__package__).joinpath(name)))


def create_app(
    db_path: str | Path,
    *,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
    n_boot: int = 1000,
    throttle: LoginThrottle | None = None,
) -> Starlette:
    """Build the annotation web app for one project database.

    Args:
        db_path: the project's SQLite file (created if missing).
        token: an access token annotators must give at sign-in; ``None`` for none.
        allowed_hosts: the ``Host`` names to serve (``None``: any). The CLI
            passes the loopback names when it binds ``127.0.0.1``.
        n_boot: bootstrap replicates for the agreement intervals.
        throttle: the limiter of wrong access tokens (default: :class:`LoginThrottle`'s
            defaults); only used when ``token`` is set.

    Returns:
        A Starlette application; run it with uvicorn.
    """
    store = AnnotationStore(db_path)
    sessions = Sessions(store.secret(), token)
    limiter = throttle or LoginThrottle()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_package_dir("templates"))),
        autoescape=True,  # every {{ }} is HTML-escaped, in every template
        undefined=jinja2.StrictUndefined,
    )
    templates = Jinja2Templates(env=env)
    codebook = store.codebook

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    # -------------------------------------------------------------- helpers

    def current_user(request: Request) -> str | None:
        return sessions.read(request.cookies.get(SESSION_COOKIE))

    def require_user(request: Request) -> str:
        name = current_user(request)
        if name is None:
            raise ApiError(401, "Sign in first (POST /api/login with your name).")
        return name

    def require_reviewer(request: Request) -> str:
        name = require_user(request)
        if not store.is_reviewer(name):
            raise ApiError(
                403,
                f"{name!r} is not a reviewer of this project. Reviewers: {', '.join(store.get_setting('reviewers'))}.",
            )
        return name

    def check_reviewers_change(name: str, reviewers: list[str]) -> None:
        """The app's reviewer rules (see the module docstring): never empty, never without the changer."""
        wanted = {normalize_annotator(str(r)) for r in reviewers if str(r).strip()}
        if not wanted:
            raise ApiError(
                403,
                "The reviewers list cannot be emptied from the app: an empty list makes every annotator a "
                "reviewer. The person who runs the server can clear it.",
            )
        if normalize_annotator(name) not in wanted:
            raise ApiError(
                403,
                f"Keep yourself ({name!r}) in the reviewers list: add the new reviewers first; "
                "they can then remove you.",
            )

    def body(request: Request, model: type[BaseModel], raw: bytes) -> Any:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, f"Send JSON (Content-Type: application/json), not {ctype or 'nothing'}.")
        too_deep = f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels."
        try:
            data = json.loads(raw or b"{}")
        except json.JSONDecodeError as err:
            raise ApiError(400, f"The request body is not valid JSON ({err.msg}).") from err
        except RecursionError as err:
            raise ApiError(400, too_deep) from err
        except UnicodeDecodeError as err:
            raise ApiError(400, "The request body is not valid JSON (not UTF-8 text).") from err
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ApiError(400, too_deep)
        try:
            return model.model_validate(data)
        except ValidationError as err:
            errors = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()]
            raise ApiError(422, "The request body is not valid.", errors) from err

    def page(request: Request, name: str, **context: Any) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        user = current_user(request)
        response = templates.TemplateResponse(
            request,
            name,
            {
                "csrf_token": csrf,
                "user": user,
                "is_reviewer": bool(user and store.is_reviewer(user)),
                "codebook": codebook,
                "project": store.path.name,
                "needs_token": token is not None,
                **context,
            },
        )
        if not request.cookies.get(CSRF_COOKIE):
            _set_csrf_cookie(response, csrf)
        return response

    def signed_in_page(request: Request, name: str, **context: Any) -> Response:
        if current_user(request) is None:
            return RedirectResponse(f"/login?next={quote(safe_next(request.url.path))}", status_code=303)
        return page(request, name, **context)

    # -------------------------------------------------------------- pages

    def index(request: Request) -> Response:
        return RedirectResponse("/label" if current_user(request) else "/login", status_code=303)

    def login_page(request: Request) -> Response:
        return page(request, "login.html")

    def label_page(request: Request) -> Response:
        return signed_in_page(request, "label.html")

    def adjudicate_page(request: Request) -> Response:
        return signed_in_page(request, "adjudicate.html")

    def agreement_page(request: Request) -> Response:
        return signed_in_page(request, "agreement.html", settings_help=SETTINGS)

    def passages_page(request: Request) -> Response:
        return signed_in_page(request, "passages.html")

    # -------------------------------------------------------------- API

    async def api_login(request: Request) -> Response:
        data: LoginBody = body(request, LoginBody, await request.body())
        if token is not None:
            client = request.client.host if request.client else "unknown"
            wait = limiter.retry_after(client)
            if wait > 0:
                raise _too_many(wait)
            if not hmac.compare_digest(data.token.encode(), token.encode()):
                wait = limiter.failure(client)
                if wait > 0:
                    raise _too_many(wait)
                raise ApiError(401, "Wrong access token. Ask the person who started the server for it.")
            limiter.success(client)
        name = await _threaded(store.touch_annotator, data.name)
        response = ok({"annotator": name, "reviewer": store.is_reviewer(name), "next": safe_next(data.next)})
        response.set_cookie(
            SESSION_COOKIE,
            sessions.issue(name),
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            path="/",
        )
        return response

    async def api_logout(request: Request) -> Response:
        name = current_user(request)
        if name:
            await _threaded(store.release, name)
        response = ok({})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def api_health(request: Request) -> Response:
        return ok({"codebook_version": codebook.version})

    def api_me(request: Request) -> Response:
        name = require_user(request)
        return ok({"annotator": name, "reviewer": store.is_reviewer(name), "settings": store.get_settings()})

    def api_codebook(request: Request) -> Response:
        return ok(
            {
                "version": codebook.version,
                "title": codebook.title,
                "unit": codebook.unit,
                "labels": [
                    {
                        "name": lab.name,
                        "key": lab.key,
                        "title": lab.title,
                        "definition": lab.definition,
                        "exclude": lab.exclude,
                        "examples": list(lab.examples),
                    }
                    for lab in codebook.labels
                ],
                "hard_cases": [{"title": h.title, "text": h.text} for h in codebook.hard_cases],
            }
        )

    def with_coders(passage: dict[str, Any]) -> dict[str, Any]:
        # How many annotators label the passage independently: the labelling
        # view shows a "double-coded" sign for the overlap share.
        settings = store.get_settings()
        coders = max(2, int(settings["overlap_coders"]))
        passage["coders"] = sampling.target_coders(passage["passage_id"], float(settings["overlap"]), coders)
        return passage

    def api_next(request: Request) -> Response:
        name = require_user(request)
        strategy = request.query_params.get("strategy") or None
        passage_id, used = store.next_passage(name, strategy=strategy)
        passage = with_coders(store.get_passage(passage_id)) if passage_id else None
        return ok({"passage": passage, "decision": None, "strategy": used, "progress": store.progress(name)})

    def api_passage(request: Request) -> Response:
        name = require_user(request)
        passage_id = request.query_params.get("id", "")
        try:
            passage = store.get_passage(passage_id)
        except AnnotationError as err:
            raise ApiError(404, str(err)) from err
        return ok(
            {
                "passage": with_coders(passage),
                "decision": store.get_decision(passage_id, name),
                "progress": store.progress(name),
            }
        )

    async def api_evidence(request: Request) -> Response:
        require_user(request)
        passage_id = request.query_params.get("id", "")
        try:
            passage = store.get_passage(passage_id, with_neighbours=False)
        except AnnotationError as err:
            raise ApiError(404, str(err)) from err
        # The rule matcher's first use loads spaCy (seconds): off the event loop.
        evidence = await _threaded(rule_evidence, passage["text"], passage.get("language"))
        return ok({"passage_id": passage_id, "evidence": evidence})

    async def api_decide(request: Request) -> Response:
        name = require_user(request)
        data: DecisionBody = body(request, DecisionBody, await request.body())
        decision = await _threaded(
            store.save_decision,
            data.passage_id,
            name,
            data.labels,
            comment=data.comment,
            flagged=data.flagged,
            skipped=data.skipped,
            lead_time=data.lead_time,
        )
        progress = await _threaded(store.progress, name)
        return ok({"decision": decision, "progress": progress})

    def api_recent(request: Request) -> Response:
        name = require_user(request)
        try:
            limit = max(1, min(500, int(request.query_params.get("limit", "50"))))
        except ValueError as err:
            raise ApiError(400, "limit must be an integer.") from err
        return ok({"decisions": store.recent_decisions(name, limit=limit)})

    def api_progress(request: Request) -> Response:
        return ok({"progress": store.progress(require_user(request))})

    def api_agreement(request: Request) -> Response:
        require_user(request)
        try:
            boots = max(0, min(10_000, int(request.query_params.get("n_boot", str(n_boot)))))
        except ValueError as err:
            raise ApiError(400, "n_boot must be an integer.") from err
        return ok({"agreement": store.agreement(n_boot=boots), "annotators": store.annotators()})

    def api_disagreements(request: Request) -> Response:
        name = require_user(request)
        include_resolved = request.query_params.get("include_resolved", "0") in {"1", "true", "yes"}
        items = store.disagreements(include_resolved=include_resolved)
        return ok(
            {
                "items": items,
                "labels": list(codebook.label_names),
                "reviewer": store.is_reviewer(name),
                "preselect_rule": PRESELECT_RULE,
            }
        )

    async def api_passages(request: Request) -> Response:
        name = require_user(request)
        q = request.query_params
        try:
            query = PassageQuery(
                text=q.get("q", ""),
                doc_id=q.get("doc", ""),
                label=q.get("label", ""),
                annotator=q.get("annotator", ""),
                flagged=q.get("flagged", "0") in {"1", "true", "yes"},
                units_only=q.get("all", "0") not in {"1", "true", "yes"},
                limit=int(q.get("limit", "50")),
                offset=int(q.get("offset", "0")),
            )
        except ValueError as err:
            raise ApiError(400, "limit and offset must be integers.") from err
        try:
            found = await _threaded(
                store.search_passages, query, viewer=name, reviewer=store.is_reviewer(name)
            )
        except AnnotationError as err:
            raise ApiError(400, str(err)) from err
        return ok(found)

    async def api_gold(request: Request) -> Response:
        reviewer = require_reviewer(request)
        data: GoldBody = body(request, GoldBody, await request.body())
        gold = await _threaded(
            store.set_gold,
            data.passage_id,
            data.labels,
            reviewer,
            comment=data.comment,
            lead_time=data.lead_time,
        )
        return ok({"gold": gold})

    def api_settings(request: Request) -> Response:
        require_user(request)
        return ok(
            {
                "settings": store.get_settings(),
                "help": {s.name: s.help for s in SETTINGS},
                "defaults": {s.name: s.default for s in SETTINGS},
            }
        )

    async def api_set_settings(request: Request) -> Response:
        name = require_reviewer(request)
        data = body(request, SettingsBody, await request.body())
        changes = data.model_dump(exclude_none=True)
        if "reviewers" in changes:
            raw = changes["reviewers"]
            # The store takes a list or a comma-separated string; anything else it refuses itself.
            listed = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else None
            if listed is not None:
                check_reviewers_change(name, listed)
        settings = await _threaded(store.set_settings, **changes)
        return ok({"settings": settings})

    def api_export(request: Request) -> Response:
        require_user(request)
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in FORMATS:
            raise ApiError(400, f"Unknown export format {fmt!r}. Available: {', '.join(FORMATS)}.")
        gold_only = request.query_params.get("gold", "0") in {"1", "true", "yes"}
        records = store.export_records(decisions=not gold_only, gold=True)
        text = dumps_records(records, fmt)  # type: ignore[arg-type]
        suffix = {"jsonl": "jsonl", "csv": "csv", "label-studio": "json"}[fmt]
        media = {"jsonl": "application/x-ndjson", "csv": "text/csv", "label-studio": "application/json"}[fmt]
        stem = Path(store.path).stem + ("-gold" if gold_only else "")
        return Response(
            text,
            media_type=f"{media}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.{suffix}"'},
        )

    def api_label_studio_config(request: Request) -> Response:
        return Response(label_studio_config(), media_type="application/xml; charset=utf-8")

    # -------------------------------------------------------------- errors

    async def handle_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _error_response(exc.status, exc.error, exc.errors, exc.headers)

    async def handle_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "Not found.", 405: "Method not allowed.", 413: "Request body too large."}
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.detail
            else messages.get(exc.status_code, "Error.")
        )
        if exc.status_code == 404:
            detail = f"Not found: {request.url.path}"
        return _error_response(exc.status_code, detail)

    async def handle_annotation(request: Request, exc: Exception) -> Response:
        status = 404 if str(exc).startswith("No passage") else 400
        return _error_response(status, str(exc))

    async def handle_internal(request: Request, exc: Exception) -> Response:
        # Log the traceback for the operator; the response says nothing about
        # internals (and never echoes passage text).
        log.exception("Internal error on %s %s", request.method, request.url.path)
        return _error_response(500, "Internal server error. The server log has the details.")

    routes = [
        Route("/", index),
        Route("/login", login_page),
        Route("/label", label_page),
        Route("/adjudicate", adjudicate_page),
        Route("/agreement", agreement_page),
        Route("/passages", passages_page),
        Route("/api/health", api_health),
        Route("/api/login", api_login, methods=["POST"]),
        Route("/api/logout", api_logout, methods=["POST"]),
        Route("/api/me", api_me),
        Route("/api/codebook", api_codebook),
        Route("/api/next", api_next),
        Route("/api/passage", api_passage),
        Route("/api/evidence", api_evidence),
        Route("/api/passages", api_passages),
        Route("/api/decisions", api_decide, methods=["POST"]),
        Route("/api/decisions/recent", api_recent),
        Route("/api/progress", api_progress),
        Route("/api/agreement", api_agreement),
        Route("/api/disagreements", api_disagreements),
        Route("/api/gold", api_gold, methods=["POST"]),
        Route("/api/settings", api_settings, methods=["GET"]),
        Route("/api/settings", api_set_settings, methods=["POST"]),
        Route("/api/export", api_export),
        Route("/api/label-studio-config", api_label_studio_config),
        Mount("/static", app=StaticFiles(directory=str(_package_dir("static"))), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, allowed_hosts=allowed_hosts)],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http,
            AnnotationError: handle_annotation,
            CocreationError: handle_annotation,
            Exception: handle_internal,
        },
        lifespan=lifespan,
    )
    app.state.store = store
    return app


def _too_many(wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        f"Too many wrong access tokens from this address: try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


async def _threaded(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking store call in the worker thread pool, off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args, **kwargs)
