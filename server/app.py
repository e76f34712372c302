"""The aiohttp application: store lifecycle, socket.io, pages and health."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import CONTENT, REALTIME, SETTINGS, STORE, WEBHOOKS
from server.content import Content
from server.http import api, openapi, rest, routes, security
from server.realtime.server import RealtimeServer
from server.settings import Settings
from server.store import Store, open_store
from server.webhooks import Webhooks


def create_app(settings: Settings, store: Store | None = None) -> web.Application:
    """Build the application; the store opens on startup and closes on cleanup."""
    app = web.Application(client_max_size=settings.max_message_bytes,
                          middlewares=[rest.answers])
    app[SETTINGS] = settings
    app[STORE] = store or open_store(settings.store)
    app[CONTENT] = Content.load(settings.content_dir)
    app[WEBHOOKS] = Webhooks(settings, app[STORE])
    realtime = RealtimeServer(settings, app[STORE], app[WEBHOOKS])
    app[REALTIME] = realtime
    realtime.sio.attach(app)
    routes.add_routes(app)
    api.add_routes(app)
    openapi.add_routes(app)
    security.install(app, settings)

    async def store_lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[STORE].open()
        await app[WEBHOOKS].start()
        yield
        await app[WEBHOOKS].stop()
        await app[STORE].close()

    async def start_realtime(app: web.Application) -> None:
        await app[REALTIME].start()

    async def stop_realtime(app: web.Application) -> None:
        # python-socketio: shutdown() must run before the web server stops.
        await app[REALTIME].shutdown()

    app.cleanup_ctx.append(store_lifecycle)
    app.on_startup.append(start_realtime)
    app.on_shutdown.append(stop_realtime)
    return app
