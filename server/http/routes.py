"""Pages, static files and health endpoints."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import CATALOGUES, NODE, SESSION_TOOLS, SETTINGS, STORE
from server.readiness import is_ready
from server.tools.registry import panel


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


async def partner_group_page(request: web.Request) -> web.FileResponse:
    """The page a partners-and-family group link opens (docs/partner-lifecycle.md)."""
    return web.FileResponse(request.app[SETTINGS].web_dir / "partner-group.html")


async def family_invite_page(request: web.Request) -> web.FileResponse:
    """The page a family member's invitation link opens (docs/groups.md)."""
    return web.FileResponse(request.app[SETTINGS].web_dir / "family-invite.html")


async def tool_panel(request: web.Request) -> web.Response:
    """A declared tool's browser panel (``panel.js`` in its package), as a JavaScript module.

    Only tools the server discovered are served, and only that one file of each: the name
    in the URL is a key, never a path."""
    tool = request.app[SESSION_TOOLS].tools.get(request.match_info["name"])
    found = panel(tool) if tool is not None else None
    if found is None:
        raise web.HTTPNotFound()
    return web.Response(body=found.read_bytes(), content_type="text/javascript",
                        charset="utf-8")


async def catalogue(request: web.Request) -> web.Response:
    """One locale's merged message catalogue (server/catalogues.py); 404 for any other."""
    found = request.app[CATALOGUES].by_locale.get(request.match_info["locale"])
    if found is None:
        raise web.HTTPNotFound()
    return web.Response(body=found, content_type="application/json", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


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
    app.router.add_get("/partner-group", partner_group_page)
    app.router.add_get("/family-invite", family_invite_page)
    app.router.add_get("/i18n/{locale}.json", catalogue)
    # Before the static files, which would otherwise answer for /static/tools/ too.
    app.router.add_get("/static/tools/{name}/panel.js", tool_panel)
    # follow_symlinks stays False (CVE-2024-23334); no directory listings.
    app.router.add_static("/static/", web_dir, follow_symlinks=False, show_index=False)
