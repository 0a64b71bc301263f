"""The annotation app against hostile requests: redirects, nested JSON, token guessing, reviewer rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cocreation_nlp.annotate.app import MAX_JSON_DEPTH, PAGES, LoginThrottle, safe_next

from .test_app import assert_error_shape, csrf, login, make_client

STATIC = Path(__file__).resolve().parents[2] / "cocreation_nlp" / "annotate" / "static"


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example/",
        "/%5Cevil.example/",
        "/\t/evil.example/",
        "/%09/evil.example/",
        "/\n/evil.example/",
        "//evil.example/",
        "///evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        " /label",
        "/label/../../evil",
        "/label\\..\\",
        "",
    ],
)
def test_hostile_requests_sign_in_never_redirects_off_site(tmp_path: Path, target: str):
    with make_client(tmp_path) as c:
        r = c.post("/api/login", json={"name": "ada", "next": target}, headers=csrf(c))
        assert r.status_code == 200, r.text
        assert r.json()["next"] == "/label"
    assert safe_next(target) == "/label"


def test_hostile_requests_sign_in_returns_to_an_app_page(client_factory):
    c = client_factory()
    for page in PAGES:
        r = c.post("/api/login", json={"name": "ada", "next": page}, headers=csrf(c))
        assert r.json()["next"] == page
    # A page behind sign-in sends the browser to /login with its own path as ?next=.
    c.cookies.delete("cc_session")
    r = c.get("/agreement", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/agreement"
    # login.js follows only the server's answer, and only to the same pages.
    script = (STATIC / "login.js").read_text(encoding="utf-8")
    listed = re.search(r"const pages = \[([^\]]*)\]", script)
    assert listed is not None
    assert json.loads(f"[{listed.group(1)}]") == list(PAGES)
    assert "res.next" in script and 'get("next") || ""' in script
    # Every page of the app (not the API, not the sign-in page itself) is a place to return to.
    from starlette.routing import Route

    pages = {r.path for r in c.app.routes if isinstance(r, Route) and not r.path.startswith("/api")}
    assert pages - {"/", "/login"} == set(PAGES)


@pytest.fixture()
def client_factory(tmp_path: Path):
    clients: list[TestClient] = []

    def make(**kwargs) -> TestClient:
        c = make_client(tmp_path, name=f"p{len(clients)}.db", **kwargs)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def _nested(value: object, depth: int) -> object:
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # past the decoder's recursion limit
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode(),  # parses, but too deep
        json.dumps({"passage_id": "doc:0", "labels": _nested("equity", MAX_JSON_DEPTH)}).encode(),
        b'{"passage_id": "\xff"}',  # not UTF-8
    ],
)
def test_hostile_requests_deep_json_is_a_400(client_factory, raw: bytes):
    c = client_factory()
    login(c)
    for path in ("/api/decisions", "/api/login", "/api/settings", "/api/gold"):
        r = c.post(path, content=raw, headers={**csrf(c), "Content-Type": "application/json"})
        body = assert_error_shape(r, 400)
        assert "JSON" in body["error"]
    # The connection and the app are still fine afterwards.
    assert c.get("/api/me").json()["annotator"] == "ada"
    assert c.app.state.store.current_decisions() == []


def test_hostile_requests_json_at_the_depth_limit_is_validated_not_refused(client_factory):
    c = client_factory()
    login(c)
    nested = _nested("x", MAX_JSON_DEPTH - 1)  # with the body object: exactly the limit
    r = c.post("/api/decisions", json={"passage_id": "doc:0", "labels": nested}, headers=csrf(c))
    assert_error_shape(r, 422)  # an ordinary validation error: the body was read


def test_hostile_requests_token_guessing_is_throttled(client_factory):
    now = [1000.0]
    throttle = LoginThrottle(per_client=3, total=100, window_s=60, base_delay_s=10, clock=lambda: now[0])
    c = client_factory(token="s3cret", throttle=throttle)
    for _ in range(2):
        assert_error_shape(c.post("/api/login", json={"name": "ada", "token": "guess"}, headers=csrf(c)), 401)
    third = c.post("/api/login", json={"name": "ada", "token": "guess"}, headers=csrf(c))
    assert "Too many" in assert_error_shape(third, 429)["error"]
    assert third.headers["Retry-After"] == "10"
    # While locked out even the right token is refused (a locked client learns nothing).
    r = c.post("/api/login", json={"name": "ada", "token": "s3cret"}, headers=csrf(c))
    assert_error_shape(r, 429)
    assert "cc_session" not in c.cookies
    # Each further failure after the wait doubles it.
    now[0] += 11
    r = c.post("/api/login", json={"name": "ada", "token": "guess"}, headers=csrf(c))
    assert assert_error_shape(r, 429) and r.headers["Retry-After"] == "20"
    now[0] += 21
    r = c.post("/api/login", json={"name": "ada", "token": "s3cret"}, headers=csrf(c))
    assert r.status_code == 200
    # A right token clears the client's record: the next typo is an ordinary 401.
    assert_error_shape(c.post("/api/login", json={"name": "ada", "token": "typo"}, headers=csrf(c)), 401)


def test_hostile_requests_throttle_caps_guesses_from_many_addresses():
    now = [0.0]
    throttle = LoginThrottle(per_client=5, total=10, window_s=60, base_delay_s=30, clock=lambda: now[0])
    waits = [throttle.failure(f"10.0.0.{i}") for i in range(10)]
    assert waits[:9] == [0.0] * 9 and waits[9] == 30.0
    assert throttle.retry_after("10.0.0.200") == 30.0  # a fresh address waits too
    now[0] += 61
    assert throttle.retry_after("10.0.0.200") == 0.0  # the window has passed


def test_hostile_requests_reviewer_cannot_empty_the_reviewers_list(client_factory):
    c = client_factory()
    store = c.app.state.store
    store.set_settings(reviewers=["rev", "sam"])
    login(c, "rev")
    for reviewers in ([], [" "], ["sam"]):  # emptied, blank, or the changer left out
        r = c.post("/api/settings", json={"reviewers": reviewers}, headers=csrf(c))
        assert_error_shape(r, 403)
        assert store.get_setting("reviewers") == ["rev", "sam"]
    r = c.post("/api/settings", json={"reviewers": ["rev", "sam", "tia"]}, headers=csrf(c))
    assert r.json()["settings"]["reviewers"] == ["rev", "sam", "tia"]
    # Not a reviewer: refused whatever the list.
    login(c, "mallory")
    assert_error_shape(c.post("/api/settings", json={"reviewers": ["mallory"]}, headers=csrf(c)), 403)
    assert store.is_reviewer("mallory") is False
    # With no reviewers set everyone may adjudicate, but still cannot set an empty list
    # or a list without themselves through the app.
    store.set_settings(reviewers=[])
    assert_error_shape(c.post("/api/settings", json={"reviewers": ["x"]}, headers=csrf(c)), 403)
    r = c.post("/api/settings", json={"reviewers": ["mallory"]}, headers=csrf(c))
    assert r.json()["settings"]["reviewers"] == ["mallory"]


@pytest.mark.browser
@pytest.mark.parametrize(
    "query", ["next=/%5Cevil.example/", "next=/%09/evil.example/", "next=//evil.example/"]
)
def test_hostile_requests_browser_stays_on_site_after_sign_in(browser, tmp_path: Path, query: str):
    """In a real browser, which turns ``/\\`` and ``/<TAB>/`` into ``//`` (another site)."""
    from .test_browser import open_page, serve

    with serve(tmp_path / "p.db") as base, open_page(browser) as (page, errors):
        page.goto(f"{base}/login?{query}")
        page.fill("#name", "ada")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/label")
        assert page.url == f"{base}/label" and errors == []
