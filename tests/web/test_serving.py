"""The console's files are served at `/` and `/console/...`, and nothing else changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.web.router import STATIC_DIR


def test_the_console_page_is_served_at_the_root_with_a_strict_policy(
    web_client: TestClient,
) -> None:
    response = web_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/console/js/main.js">' in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/console/js/main.js", "text/javascript; charset=utf-8"),
        ("/console/js/views/wizard.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "image/svg+xml"),
    ],
)
def test_assets_are_served_with_their_types(
    web_client: TestClient, path: str, media_type: str
) -> None:
    response = web_client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_module_the_console_imports_is_shipped() -> None:
    sources = list(STATIC_DIR.rglob("*.js"))
    assert sources
    for source in sources:
        for line in source.read_text().splitlines():
            if line.startswith("import ") and " from " in line:
                target = line.rsplit(" from ", 1)[1].strip().strip(";").strip('"')
                assert (source.parent / target).resolve().is_file(), (source, target)


@pytest.mark.parametrize(
    "path",
    [
        "/console/nothing.js",
        "/console/",
        "/console/../router.py",
        "/console/%2e%2e/router.py",
        "/console/..%2f__init__.py",
        "/console/js",
    ],
)
def test_anything_else_under_console_is_a_problem_404(web_client: TestClient, path: str) -> None:
    response = web_client.get(path)
    assert response.status_code == 404, path
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_unknown_api_paths_stay_problem_404s(web_client: TestClient) -> None:
    for path in ("/api/v1/nothing-here", "/api/v1/", "/api/v1/console/js/main.js"):
        response = web_client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"


def test_the_console_is_left_out_of_the_api_schema(web_client: TestClient) -> None:
    paths = web_client.get("/api/v1/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/console")]


def test_an_unchanged_file_is_not_sent_again(web_client: TestClient) -> None:
    first = web_client.get("/console/js/api.js")
    etag = first.headers["etag"]
    again = web_client.get("/console/js/api.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["cache-control"] == "no-cache"
    assert web_client.get("/", headers={"If-None-Match": '"stale"'}).status_code == 200
