"""Browser pages: the static files under ``adapters/web/static`` and the page routes that serve them.

The pages themselves are built separately; this module is their mount point. With no static
folder (or an empty one) nothing is mounted and the API works alone.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def mount_pages(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    if not static_dir.is_dir() or not any(static_dir.iterdir()):
        return
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    index = static_dir / "index.html"
    if index.is_file():

        @app.get("/", include_in_schema=False)
        def _index() -> FileResponse:
            return FileResponse(index)
    else:

        @app.get("/", include_in_schema=False)
        def _docs() -> RedirectResponse:
            return RedirectResponse("/docs")
