"""Finding tools: every entry point in the ``alongside.tools`` group, built-ins included.

Built-in tools in ``plugins/`` register through this project's own entry points,
exactly as an outside package would (pluggy's ``load_setuptools_entrypoints``,
without the dependency).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from importlib import resources
from importlib.abc import Traversable
from importlib.metadata import entry_points

from server.logs import log_event
from server.tools.api import ENTRY_POINT_GROUP, Tool

PANEL = "panel.js"  # a tool's browser panel, beside its module (docs/plugins.md)


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


def settings(tools: Mapping[str, Tool],
             environ: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Each tool's settings: the names it declares in ``setting_names``, with their values
    in ``environ`` (the server's environment at start); nothing it did not declare."""
    source = os.environ if environ is None else environ
    out: dict[str, dict[str, str]] = {}
    for name, tool in tools.items():
        declared: object = getattr(tool, "setting_names", frozenset())
        names: frozenset[str] = frozenset(declared) \
            if isinstance(declared, (set, frozenset)) else frozenset()
        out[name] = {key: source[key] for key in sorted(names)
                     if isinstance(key, str) and key in source}
    return out


def panel(tool: Tool) -> Traversable | None:
    """The tool's ``panel.js``, read from its package through importlib.resources (so a
    zipped or installed package works too); None if it ships none.

    Note: only this fixed name in the package that defines the tool's class is ever
    read, so a URL cannot reach any other file."""
    package = package_of(tool)
    if not package:
        return None
    try:
        found = resources.files(package) / PANEL
    except (ModuleNotFoundError, TypeError):
        return None
    return found if found.is_file() else None


def package_of(tool: Tool) -> str:
    """The package that defines the tool's class ("" for a top-level module): where its
    panel and catalogues are read from."""
    module = type(tool).__module__
    return module if _is_package(module) else module.rpartition(".")[0]


def _is_package(module: str) -> bool:
    loaded = sys.modules.get(module)
    return loaded is not None and hasattr(loaded, "__path__")
