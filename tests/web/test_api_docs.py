"""/api/v1/docs renders from the service's own files: no CDN, a policy of its own."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

DOCS = "/api/v1/docs"


def test_the_docs_page_names_no_other_host_and_its_assets_answer(web_client: TestClient) -> None:
    response = web_client.get(DOCS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # Nothing from a CDN: no absolute URL at all, no protocol-relative one either.
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html), html
    assert "cdn.jsdelivr.net" not in html
    references = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert any(ref.endswith(".js") for ref in references)
    assert any(ref.endswith(".css") for ref in references)
    for reference in references:
        asset = web_client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference
    assert "/api/v1/openapi.json" in html
    assert web_client.get("/api/v1/openapi.json").status_code == 200


def test_the_docs_page_has_its_own_policy_with_a_nonce(web_client: TestClient) -> None:
    first = web_client.get(DOCS)
    policy = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    assert "script-src 'self' 'nonce-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "connect-src 'self'" in policy
    # Every inline script carries the nonce; a new one each time.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", first.text)
    assert inline
    assert all(f'nonce="{nonce.group(1)}"' in attrs for attrs in inline)
    second = web_client.get(DOCS).headers["content-security-policy"]
    assert second != policy
    # The console keeps its strict policy: no inline script there.
    console = web_client.get("/").headers["content-security-policy"]
    assert "nonce-" not in console
    assert "'unsafe-inline'" not in console


def test_docs_redirects_to_the_api_docs(web_client: TestClient) -> None:
    response = web_client.get("/docs", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"] == DOCS
