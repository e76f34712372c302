"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from server.content import Content
from server.settings import Settings
from server.store import Store
from server.webhooks import Webhooks

if TYPE_CHECKING:
    from server.realtime.server import RealtimeServer

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REALTIME: web.AppKey[RealtimeServer] = web.AppKey("realtime")
CONTENT = web.AppKey("content", Content)
WEBHOOKS = web.AppKey("webhooks", Webhooks)
