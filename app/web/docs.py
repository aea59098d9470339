"""The interactive API docs (Swagger UI) at /api/v1/docs, served with no request to the internet.

Swagger UI's script and style come from the fastapi-offline package (Swagger UI 5, which reads
the OpenAPI 3.1 documents FastAPI writes; the swagger-ui-bundle package stops at 4.x, which
does not), mounted as static files. The page gets a Content-Security-Policy of its own: its one
inline script (Swagger UI's start) runs by a per-response nonce; the console's policy, which
allows no inline script at all, is untouched.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

SWAGGER_UI_DIR = (Path(fastapi_offline.__file__).parent / "static").resolve()


def _csp(nonce: str) -> str:
    # Swagger UI sets style attributes and draws icons from data: URLs; scripts stay strict.
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def install_docs(app: FastAPI, *, prefix: str) -> None:
    """`{prefix}/docs` (Swagger UI on `{prefix}/openapi.json`), its assets, and `/docs`."""
    docs_path = f"{prefix}/docs"
    assets = f"{docs_path}/assets"
    app.mount(assets, StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui-assets")

    @app.get(docs_path, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        nonce = secrets.token_urlsafe(18)
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or f"{prefix}/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url="/console/favicon.svg",
        )
        # The start script is the page's only inline one.
        html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": _csp(nonce),
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY",
                "Cache-Control": "no-store",
            },
        )

    @app.get("/docs", include_in_schema=False)
    def docs_redirect() -> RedirectResponse:
        return RedirectResponse(docs_path, status_code=308)
