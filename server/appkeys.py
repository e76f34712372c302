"""Typed keys for what the aiohttp application carries.

Note: no key names a realtime type: REST routes reach the realtime layer only through
the protocols below (``server/http`` never imports ``server/realtime``). The realtime
server itself is under ``server.realtime.server.REALTIME``.
"""

from __future__ import annotations

from aiohttp import web

from server.catalogues import Catalogues
from server.content import Content
from server.readiness import Node
from server.services.notifier import Notifier
from server.services.session_tools import SessionTools
from server.settings import Settings
from server.store import Store
from server.webhooks import Webhooks

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
CONTENT = web.AppKey("content", Content)
CATALOGUES = web.AppKey("catalogues", Catalogues)
WEBHOOKS = web.AppKey("webhooks", Webhooks)
NODE: web.AppKey[Node] = web.AppKey("node")  # draining? delivering? (readiness)
NOTIFIER: web.AppKey[Notifier] = web.AppKey("notifier")  # what use cases ask of realtime
SESSION_TOOLS: web.AppKey[SessionTools] = web.AppKey("session_tools")
