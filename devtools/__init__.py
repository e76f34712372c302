"""Helpers for developing Alongside: free ports, process groups, a private Redis, CPU caps.

Used by tests/, bench/ and docs/screenshots/make.py; not part of the shipped package
(pyproject.toml's package list names only ``server`` and ``plugins``). Import it from the
repository root (pytest, ``python -m bench.run`` and the screenshot script all put the root
on ``sys.path``); it needs nothing beyond the standard library, but for ``sfu_member``
(one aiortc member of a group room, for the group tests and B6), which needs aiortc.
"""
