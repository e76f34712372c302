"""``GET /metrics``: the node's metrics in the Prometheus text format, behind a token.

Off unless ``ALONGSIDE_METRICS_TOKEN`` is set: then ``/metrics`` is not routed at all
(404, like any unknown path). With it, a scrape must send ``Authorization: Bearer
<token>``; anything else is answered 401 with ``WWW-Authenticate: Bearer`` and no body
worth reading. The token is compared in constant time.

Note: the numbers are content-free (``server/metrics.py``), but they still tell how busy
a clinic is and when: hence the token even on a private network.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from server.metrics import Metrics, watch_loop

METRICS = web.AppKey("metrics", Metrics)
PATH = "/metrics"


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def install(app: web.Application, metrics: Metrics, token: str) -> None:
    """Keep ``metrics`` in the app, watch the event loop, and route ``/metrics`` if a
    ``token`` is set."""
    app[METRICS] = metrics

    async def watching(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(watch_loop(metrics))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(watching)
    if not token:
        return
    exposition = make_aiohttp_handler(metrics.registry)

    async def scrape(request: web.Request) -> web.StreamResponse:
        if not _authorized(request, token):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"},
                                       text="A bearer token is required.")
        await metrics.refresh()
        return await exposition(request)

    app.router.add_get(PATH, scrape)
