"""Browser pages: the static files under ``adapters/web/static`` and the page routes that serve them.

``/`` (landing), ``/console`` (clerks, supervisors, administrators), ``/capture`` (the customer's
camera page, opened from a link or QR code) and ``/auditor`` (read-only figures). The pages are
plain HTML, CSS and JavaScript modules with no build step and load nothing from other origins; the
Content-Security-Policy says so to the browser. With no static folder nothing is mounted and the
API works alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

PAGES = {
    "/": "index.html",
    "/console": "console.html",
    "/capture": "capture.html",
    "/auditor": "auditor.html",
}

# Everything from this origin only; inline style attributes are the one allowance (no inline script).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The capture page needs the camera; nothing here needs the microphone or location.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _page_route(path: Path) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    return page


def _to_docs() -> RedirectResponse:
    return RedirectResponse("/docs")


def mount_pages(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    if not static_dir.is_dir() or not any(static_dir.iterdir()):
        return
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    for route, name in PAGES.items():
        file = static_dir / name
        if file.is_file():
            app.add_api_route(route, _page_route(file), methods=["GET"], include_in_schema=False)
        elif route == "/":
            app.add_api_route(route, _to_docs, methods=["GET"], include_in_schema=False)
