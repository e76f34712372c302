"""Pages, static files and health endpoints."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import NODE, SETTINGS, STORE
from server.readiness import is_ready


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers. Says nothing about dependencies."""
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """Ready: the store answers, so joins and admissions can be recorded; not while draining."""
    if await is_ready(request.app[NODE], request.app[STORE]):
        return web.json_response({"ok": True})
    return web.json_response({"ok": False, "error": {"code": "E_UNAVAILABLE"}}, status=503)


async def room_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[SETTINGS].web_dir / "room.html")


async def invite_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[SETTINGS].web_dir / "invite.html")


async def index(request: web.Request) -> web.Response:
    return web.Response(
        text="Alongside is running. Open a session with the link you were given.\n",
        content_type="text/plain")


def add_routes(app: web.Application) -> None:
    web_dir = app[SETTINGS].web_dir
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/room", room_page)
    app.router.add_get("/invite", invite_page)
    # follow_symlinks stays False (CVE-2024-23334); no directory listings.
    app.router.add_static("/static/", web_dir, follow_symlinks=False, show_index=False)
