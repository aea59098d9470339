"""Serves the console: its page at `/` and its static files under `/console/`.

The files are plain HTML, CSS and ES modules (no build step). Only files that exist under
`static/` with a known type are served; anything else under `/console/` is the usual
problem+json 404, and nothing here answers under `/api/v1`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from app.core.errors import NotFoundError

STATIC_DIR = (Path(__file__).parent / "static").resolve()
ASSET_PREFIX = "/console"

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    # Module scripts are refused unless served with a JavaScript type.
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# The console handles an API key: it loads nothing but its own files, runs no inline script,
# and cannot be framed.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Revalidate every time (cheap, ETag): a new release is picked up on the next load.
    "Cache-Control": "no-cache",
}
_ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _asset(relative: str) -> Path | None:
    if not relative or "\x00" in relative:
        return None
    candidate = (STATIC_DIR / relative).resolve()
    if not candidate.is_relative_to(STATIC_DIR) or not candidate.is_file():
        return None
    if candidate.suffix not in _MEDIA_TYPES or candidate.name.startswith("."):
        return None
    return candidate


def _file(request: Request, path: Path, headers: dict[str, str]) -> Response:
    response = FileResponse(
        path, media_type=_MEDIA_TYPES[path.suffix], headers=headers, stat_result=path.stat()
    )
    etag = response.headers.get("etag")
    if etag and etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"ETag": etag, **headers})
    return response


@router.api_route("/", methods=["GET", "HEAD"])
def console_page(request: Request) -> Response:
    return _file(request, STATIC_DIR / "index.html", _PAGE_HEADERS)


@router.api_route(ASSET_PREFIX + "/{relative:path}", methods=["GET", "HEAD"])
def console_asset(relative: str, request: Request) -> Response:
    path = _asset(relative)
    if path is None:
        raise NotFoundError(
            "There is no console file at this path.",
            hint="Open the console at / ; the API is under /api/v1.",
        )
    return _file(request, path, _ASSET_HEADERS)
