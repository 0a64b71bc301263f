"""HTTP API of the annotation app: flow, error shape, CSRF, sign-in, escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cocreation_nlp.annotate.app import LOOPBACK_HOSTS, create_app
from cocreation_nlp.annotate.records import read_records
from cocreation_nlp.annotate.store import PassageRow
from cocreation_nlp.codebook import LABELS

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
STATIC = Path(__file__).resolve().parents[1] / "cocreation_nlp" / "annotate" / "static"


def make_client(tmp_path: Path, *, name: str = "project.db", **kwargs) -> TestClient:
    app = create_app(tmp_path / name, n_boot=50, **kwargs)
    app.state.store.add_passages(
        [
            PassageRow(
                "doc:0",
                "doc",
                "Residents co-design the service.",
                index=0,
                title="Plan",
                heading="Aims",
                page=1,
            ),
            PassageRow("doc:1", "doc", PAYLOAD, index=1, title="Plan", heading="Aims", page=1),
            PassageRow(
                "doc:2",
                "doc",
                "The third sector was left out.",
                index=2,
                title="Plan",
                heading="Aims",
                page=2,
            ),
        ]
    )
    # Short synthetic passages (one is a 3-word script payload): serve every length.
    app.state.store.set_settings(min_words=0)
    return TestClient(app, raise_server_exceptions=False)


def csrf(client: TestClient) -> dict[str, str]:
    if not client.cookies.get("cc_csrf"):
        client.get("/login")
    return {"X-CSRF-Token": client.cookies.get("cc_csrf")}


def login(client: TestClient, name: str = "ada", token: str = "") -> None:
    r = client.post("/api/login", json={"name": name, "token": token}, headers=csrf(client))
    assert r.status_code == 200, r.text


@pytest.fixture()
def client(tmp_path: Path):
    with make_client(tmp_path) as c:
        yield c


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"ok", "error", "errors", "status"}
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert body["errors"] and all(isinstance(e, str) for e in body["errors"])
    assert "Traceback" not in response.text
    return body


# ---------------------------------------------------------------- the labelling flow


def test_annotate_api_label_flow_with_correction_and_history(client: TestClient):
    login(client)
    nxt = client.get("/api/next").json()
    passage = nxt["passage"]
    assert nxt["ok"] and passage["passage_id"].startswith("doc:")
    assert {"before", "after", "title", "heading", "page"} <= set(passage)
    assert client.get("/api/next").json()["passage"]["passage_id"] == passage["passage_id"]  # held for ada
    pid = passage["passage_id"]
    r = client.post(
        "/api/decisions", json={"passage_id": pid, "labels": ["equity", "individual"]}, headers=csrf(client)
    )
    assert r.json()["decision"]["labels"] == ["individual", "equity"]
    assert r.json()["progress"]["done"] == 1
    r = client.post(
        "/api/decisions",
        json={"passage_id": pid, "labels": [], "comment": "none after all"},
        headers=csrf(client),
    )
    assert r.json()["decision"]["revision"] == 2
    got = client.get("/api/passage", params={"id": pid}).json()
    assert got["decision"]["labels"] == [] and got["decision"]["comment"] == "none after all"
    assert got["decision"]["history"][0]["labels"] == ["individual", "equity"]
    recent = client.get("/api/decisions/recent").json()["decisions"]
    assert [d["passage_id"] for d in recent] == [pid]
    assert client.get("/api/next").json()["passage"]["passage_id"] != pid


def test_annotate_api_codebook_and_pages(client: TestClient):
    cb = client.get("/api/codebook").json()
    assert [lab["name"] for lab in cb["labels"]] == list(LABELS)
    assert [lab["key"] for lab in cb["labels"]] == [str(i) for i in range(1, 8)]
    assert client.get("/label", follow_redirects=False).status_code == 303  # sign in first
    login(client)
    for path in ["/label", "/adjudicate", "/agreement"]:
        r = client.get(path)
        assert r.status_code == 200
        assert (
            "Content-Security-Policy" in r.headers
            and "script-src 'self'" in r.headers["Content-Security-Policy"]
        )
        assert r.headers["X-Frame-Options"] == "DENY"
    label_page = client.get("/label").text
    for lab in cb["labels"]:
        assert f'data-key="{lab["key"]}"' in label_page  # the toggles
        assert f'id="def-{lab["name"]}"' in label_page  # the definitions panel
    assert "Keyboard" in label_page and "progressbar" in label_page


def test_annotate_api_agreement_adjudication_and_reviewers(client: TestClient):
    store = client.app.state.store
    store.save_decision("doc:0", "ada", ["cocreation", "individual"])
    store.save_decision("doc:0", "bob", ["individual"])
    store.save_decision("doc:2", "ada", ["collective"])
    store.save_decision("doc:2", "bob", ["collective"])
    store.set_settings(reviewers=["rev"])
    login(client, "ada")
    agreement = client.get("/api/agreement")
    assert "NaN" not in agreement.text  # JSON has no NaN: undefined values are null
    rows = {r["label"]: r for r in agreement.json()["agreement"]["labels"]}
    assert rows["cocreation"]["n_items"] == 2
    items = client.get("/api/disagreements").json()["items"]
    assert [i["passage"]["passage_id"] for i in items] == ["doc:0"]
    assert items[0]["disputed_labels"] == ["cocreation"]
    body = {"passage_id": "doc:0", "labels": ["individual"], "comment": "hard case 5"}
    assert_error_shape(client.post("/api/gold", json=body, headers=csrf(client)), 403)
    assert_error_shape(client.post("/api/settings", json={"overlap": 0.5}, headers=csrf(client)), 403)
    login(client, "rev")
    r = client.post("/api/gold", json=body, headers=csrf(client))
    assert r.json()["gold"]["reviewer"] == "rev"
    assert client.get("/api/disagreements").json()["items"] == []
    assert (
        client.post("/api/settings", json={"overlap": 0.5}, headers=csrf(client)).json()["settings"][
            "overlap"
        ]
        == 0.5
    )
    bad = client.post("/api/settings", json={"overlap": 2}, headers=csrf(client))
    assert "overlap" in assert_error_shape(bad, 400)["error"]


def test_annotate_api_export_formats_read_back(client: TestClient, tmp_path: Path):
    store = client.app.state.store
    store.save_decision("doc:1", "ada", ["equity"], comment='a, b; "c"')
    store.save_decision("doc:1", "ada", ["equity", "systemic"])
    login(client)
    expected = store.export_records()
    for fmt, suffix in [("jsonl", "jsonl"), ("csv", "csv"), ("label-studio", "json")]:
        r = client.get("/api/export", params={"format": fmt})
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        path = tmp_path / f"export.{suffix}"
        path.write_bytes(r.content)
        assert read_records(path) == expected, fmt
    assert_error_shape(client.get("/api/export", params={"format": "xml"}), 400)
    assert "<Choices" in client.get("/api/label-studio-config").text


# ---------------------------------------------------------------- one error shape


def test_annotate_api_every_error_has_one_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with make_client(tmp_path, allowed_hosts=LOOPBACK_HOSTS) as c:
        c.base_url = "http://127.0.0.1:8765"  # type: ignore[misc]
        assert_error_shape(c.get("/api/next"), 401)  # not signed in
        assert_error_shape(c.get("/nope"), 404)
        assert_error_shape(c.get("/api/login"), 405)
        assert_error_shape(c.get("/api/health", headers={"Host": "evil.example"}), 400)  # DNS rebinding
        assert_error_shape(c.post("/api/login", json={"name": "ada"}), 403)  # no CSRF token
        login(c)
        h = csrf(c)
        assert_error_shape(c.post("/api/decisions", content=b"passage_id=doc:0", headers=h), 415)
        assert_error_shape(
            c.post("/api/decisions", content=b"{not json", headers={**h, "Content-Type": "application/json"}),
            400,
        )
        body = assert_error_shape(
            c.post("/api/decisions", json={"passage_id": "doc:0", "extra": 1}, headers=h), 422
        )
        assert any("extra" in e for e in body["errors"])
        body = assert_error_shape(
            c.post("/api/decisions", json={"passage_id": "doc:0", "labels": ["x"]}, headers=h), 400
        )
        assert "unknown label" in body["error"]
        assert_error_shape(
            c.post("/api/decisions", json={"passage_id": "missing", "labels": []}, headers=h), 404
        )
        assert_error_shape(c.get("/api/passage", params={"id": "missing"}), 404)
        assert_error_shape(c.get("/api/decisions/recent", params={"limit": "many"}), 400)
        huge = json.dumps({"passage_id": "doc:0", "comment": "x" * 2_000_000})
        assert_error_shape(
            c.post("/api/decisions", content=huge, headers={**h, "Content-Type": "application/json"}), 413
        )

        def boom(*args, **kwargs):
            raise RuntimeError(f"secret internals {PAYLOAD}")

        monkeypatch.setattr(c.app.state.store, "progress", boom)
        body = assert_error_shape(c.get("/api/progress"), 500)
        assert "secret" not in json.dumps(body) and "<script>" not in json.dumps(body)


# ---------------------------------------------------------------- CSRF and sign-in


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no token
        {"X-CSRF-Token": "wrong"},
        {"Origin": "http://evil.example"},
        {"Referer": "http://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_annotate_api_refuses_cross_site_writes(client: TestClient, headers: dict[str, str]):
    login(client)
    full = {**csrf(client), **headers} if "X-CSRF-Token" not in headers and headers else headers
    if headers.get("X-CSRF-Token") == "wrong":
        full = headers
    r = client.post("/api/decisions", json={"passage_id": "doc:0", "labels": ["equity"]}, headers=full)
    assert_error_shape(r, 403)
    assert client.app.state.store.current_decisions() == []
    # The same request from the app's own page passes.
    ok = client.post(
        "/api/decisions",
        json={"passage_id": "doc:0", "labels": ["equity"]},
        headers={**csrf(client), "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert ok.status_code == 200


def test_annotate_api_login_cross_site_is_refused(client: TestClient):
    # Login CSRF: another site must not be able to sign the browser in under a chosen name.
    r = client.post(
        "/api/login", json={"name": "mallory"}, headers={**csrf(client), "Origin": "https://evil.example"}
    )
    assert_error_shape(r, 403)
    assert "cc_session" not in client.cookies


def test_annotate_api_access_token_and_session_cookie(tmp_path: Path):
    with make_client(tmp_path, token="s3cret") as c:
        assert_error_shape(c.post("/api/login", json={"name": "ada", "token": "guess"}, headers=csrf(c)), 401)
        r = c.post("/api/login", json={"name": "ada", "token": "s3cret"}, headers=csrf(c))
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert c.get("/api/me").json()["annotator"] == "ada"
        # A forged cookie is not a session.
        forged = c.cookies.get("cc_session").split(".")
        forged[0] = "Ym9i"  # base64 "bob"
        c.cookies.delete("cc_session")
        c.cookies.set("cc_session", ".".join(forged))
        assert_error_shape(c.get("/api/me"), 401)
    # Restarting with another token signs everyone out.
    with make_client(tmp_path, name="other.db", token="one") as c1:
        login(c1, "ada", token="one")
        session = c1.cookies.get("cc_session")
    app2 = create_app(tmp_path / "other.db", token="two")
    with TestClient(app2, raise_server_exceptions=False) as c2:
        c2.cookies.set("cc_session", session)
        assert_error_shape(c2.get("/api/me"), 401)


def test_annotate_api_logout_releases_and_clears(client: TestClient):
    login(client)
    pid = client.get("/api/next").json()["passage"]["passage_id"]
    assert client.post("/api/logout", json={}, headers=csrf(client)).status_code == 200
    assert_error_shape(client.get("/api/me"), 401)
    login(client, "bob")
    client.app.state.store.set_settings(overlap=0.0)
    assert client.get("/api/next").json()["passage"] is not None
    assert pid in client.app.state.store.passage_ids()


# ---------------------------------------------------------------- escaping


def test_annotate_api_passage_text_is_data_not_markup(client: TestClient):
    login(client)
    r = client.get("/api/passage", params={"id": "doc:1"})
    assert r.json()["passage"]["text"] == PAYLOAD  # exact text, as JSON data
    assert r.headers["content-type"].startswith("application/json")
    for path in ["/label", "/adjudicate", "/agreement"]:
        assert "<script>window.__pwned" not in client.get(path).text


def test_annotate_api_templates_escape_names(tmp_path: Path):
    with make_client(tmp_path, name="<svg onload=alert(1)>.db") as c:
        login(c, '<img src=x onerror="alert(1)">')
        html = c.get("/label").text
        assert "<img src=x" not in html and "&lt;img src=x onerror=" in html
        assert "<svg onload" not in html and "&lt;svg onload=alert(1)&gt;.db" in html


def test_annotate_api_scripts_never_write_html():
    # Document text reaches the page only through textContent / text nodes.
    for script in STATIC.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ]:
            assert sink not in source, f"{script.name} uses {sink}"


def test_annotate_api_static_assets_are_local():
    # No CDN: every script and stylesheet is served from /static.
    templates = STATIC.parent / "templates"
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        for url in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert url.startswith("/") and not url.startswith("//"), (page.name, url)
