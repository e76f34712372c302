"""The aiohttp application: store lifecycle, socket.io, pages and health."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import (
    CATALOGUES,
    CONTENT,
    NODE,
    NOTIFIER,
    SESSION_TOOLS,
    SETTINGS,
    STORE,
    WEBHOOKS,
)
from server.catalogues import Catalogues
from server.content import Content
from server.http import api, openapi, rest, routes, security
from server.http import metrics as metrics_route
from server.metrics import Metrics
from server.realtime.server import REALTIME, RealtimeServer
from server.settings import Settings
from server.store import Store, open_store
from server.store.metered import MeteredStore, backend_of
from server.webhooks import Webhooks

# Young objects before a collection (CPython's default is 700). A burst of joins
# allocates hundreds of thousands of short-lived objects; at 700 the collector ran
# about every millisecond and, through the older generations, rescanned every live
# connection, ~10% of a join storm's CPU. Only objects in reference cycles wait
# longer to be freed.
GC_YOUNG_THRESHOLD = 20_000
_gc_tuned = False


def tune_gc() -> None:
    """Once per process, when serving starts: move everything alive after start-up
    (modules, the app, settings) out of the collector's sight with ``gc.freeze``,
    so later full collections scan only what serving creates, and collect the
    young generation less often."""
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def create_app(settings: Settings, store: Store | None = None) -> web.Application:
    """Build the application; the store opens on startup and closes on cleanup."""
    app = web.Application(client_max_size=settings.max_message_bytes,
                          middlewares=[rest.answers])
    app[SETTINGS] = settings
    metrics = Metrics()
    app[STORE] = MeteredStore(store or open_store(settings.store), backend_of(settings.store),
                              metrics)
    app[CONTENT] = Content.load(settings.content_dir)
    app[WEBHOOKS] = Webhooks(settings, app[STORE], metrics)
    realtime = RealtimeServer(settings, app[STORE], app[WEBHOOKS], metrics)
    metrics.node = realtime.node_id
    app[REALTIME] = realtime
    app[NODE] = realtime
    app[NOTIFIER] = realtime
    app[SESSION_TOOLS] = realtime.tool_events
    app[CATALOGUES] = Catalogues.load(settings.web_dir, realtime.tool_events.tools)
    realtime.attach(app)
    routes.add_routes(app)
    api.add_routes(app)
    openapi.add_routes(app)
    security.install(app, settings)
    metrics_route.install(app, metrics, settings.metrics_token)

    async def held() -> None:  # what the node holds, counted when scraped
        metrics.held([room for room_id in list(realtime.local_rooms)
                      if (room := await realtime.rooms.get_recent(room_id)) is not None])
        if app[WEBHOOKS].enabled:
            metrics.outbox_depth.set(await app[WEBHOOKS].depth())

    metrics.before_scrape(held)

    async def store_lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[STORE].open()
        await app[WEBHOOKS].start()
        yield
        await app[WEBHOOKS].stop()
        await app[STORE].close()

    async def start_realtime(app: web.Application) -> None:
        await app[REALTIME].start()
        tune_gc()

    async def stop_realtime(app: web.Application) -> None:
        # python-socketio: shutdown() must run before the web server stops.
        await app[REALTIME].shutdown()

    app.cleanup_ctx.append(store_lifecycle)
    app.on_startup.append(start_realtime)
    app.on_shutdown.append(stop_realtime)
    return app
