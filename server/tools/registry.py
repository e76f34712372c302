"""Finding tools: every entry point in the ``alongside.tools`` group, built-ins included.

Built-in tools in ``plugins/`` register through this project's own entry points,
exactly as an outside package would (pluggy's ``load_setuptools_entrypoints``,
without the dependency).
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from server.logs import log_event
from server.tools.api import ENTRY_POINT_GROUP, Tool


def discover() -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            tool = loaded() if isinstance(loaded, type) else loaded
        except Exception as exc:  # a broken plugin must not stop the server
            log_event("tool.load_failed", logging.ERROR, event=ep.name,
                      error=type(exc).__name__)
            continue
        if not isinstance(tool, Tool) or tool.name in tools:
            log_event("tool.rejected", logging.ERROR, event=ep.name)
            continue
        tools[tool.name] = tool
    return tools
