"""Check exercise files before adding them to a library folder.

    python -m plugins.exercises my-exercise.json [more.json ...]

Prints each problem and exits non-zero if any file would be refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from plugins.exercises.library import LibraryError, load_file


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip())
        return 2
    failed = 0
    for name in argv:
        try:
            exercise = load_file(Path(name))
        except LibraryError as exc:
            print(f"refused: {exc}")
            failed += 1
        else:
            print(f"ok: {name} ({exercise.id}, {len(exercise.steps)} steps)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
