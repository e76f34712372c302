"""The exercise library: JSON files, validated when they are loaded.

One file holds one exercise. A file that does not validate raises
:class:`LibraryError` naming the file and the problem; the built-in library is
checked by the tests, and ``python -m plugins.exercises FILE...`` checks new files
before a clinician drops them into a library folder.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

BUILT_IN = Path(__file__).parent / "library"
EXTRA_DIRS_ENV = "ALONGSIDE_EXERCISE_DIRS"  # more library folders, separated by os.pathsep

Who = Literal["each", "speaker", "listener", "clinician"]
Mode = Literal["private-reveal", "floor", "shared"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class LibraryError(ValueError):
    """An exercise file that cannot be used, and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AnswerField(_Model):
    """One part of a structured answer, e.g. ``feel`` in "I feel … when … I need …"."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    label: Short
    placeholder: Short | None = None
    max_length: int = Field(500, ge=1, le=2000, alias="maxLength")


class Step(_Model):
    prompt: Text
    who: Who
    mode: Mode
    fields: tuple[AnswerField, ...] = ()
    # e.g. "I feel {feel} when {when}. I need {need}." (placeholders are field names)
    template: Short | None = None
    timer: int | None = Field(None, ge=1, le=3600)  # seconds
    guide: Text | None = None  # for the clinician only

    @model_validator(mode="after")
    def _consistent(self) -> Step:
        if self.mode == "private-reveal" and self.who != "each":
            raise ValueError("a private-reveal step is answered by 'each' partner")
        if self.mode == "floor" and (self.who != "speaker" or self.fields):
            raise ValueError("a floor step has who 'speaker' and no fields")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique within a step")
        if self.template is not None:
            if not self.fields:
                raise ValueError("a template needs fields")
            used = {p for _, p, _, _ in string.Formatter().parse(self.template) if p is not None}
            if not used <= set(names):
                raise ValueError(f"the template names unknown fields: {sorted(used - set(names))}")
        return self


class Exercise(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    title: Short
    intro: Text
    steps: Annotated[tuple[Step, ...], Field(min_length=1, max_length=50)]

    def catalog_entry(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "intro": self.intro,
                "steps": len(self.steps),
                "modes": sorted({s.mode for s in self.steps})}


def parse(data: Any, source: str = "<data>") -> Exercise:
    try:
        return Exercise.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise LibraryError(f"{source}: {problems}") from None


def load_file(path: Path) -> Exercise:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LibraryError(f"{path}: {exc}") from None
    exercise = parse(data, str(path))
    if exercise.id != path.stem:
        raise LibraryError(f"{path}: the id {exercise.id!r} must match the file name")
    return exercise


def load(dirs: Iterable[Path], found: dict[str, Exercise] | None = None,
         on_error: Callable[[LibraryError], None] | None = None) -> dict[str, Exercise]:
    """Every ``*.json`` in ``dirs`` (added to ``found``), by id.

    A bad file or a repeated id raises, or with ``on_error`` is reported and skipped.
    """
    found = {} if found is None else found
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.json")):
            try:
                exercise = load_file(path)
                if exercise.id in found:
                    raise LibraryError(f"{path}: the id {exercise.id!r} is used twice")
            except LibraryError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
            found[exercise.id] = exercise
    return found


def extra_dirs(extra: str) -> list[Path]:
    """Folders clinicians add exercises to: the setting ``ALONGSIDE_EXERCISE_DIRS``
    (``os.pathsep``-separated), as the server passes it in the tool's context."""
    return [Path(p) for p in extra.split(os.pathsep) if p]
