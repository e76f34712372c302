"""Security headers on every response, set before headers are sent.

A signal handler (``on_response_prepare``) rather than a middleware, so the
websocket upgrade and static files get them too.
"""

from __future__ import annotations

from aiohttp import web

from server.settings import Settings


def content_security_policy(settings: Settings) -> str:
    # 'self' covers same-origin ws:/wss: in CSP level 3; no inline script, no other origin.
    ancestors = " ".join(("'self'", *settings.frame_ancestors))
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            f"form-action 'none'; frame-ancestors {ancestors}")


def install(app: web.Application, settings: Settings) -> None:
    csp = content_security_policy(settings)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        h = response.headers
        h.setdefault("Content-Security-Policy", csp)
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.content_type == "text/html":
            h.setdefault("Cache-Control", "no-store")

    app.on_response_prepare.append(add_headers)
