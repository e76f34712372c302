"""Role-play scenarios: validated data files, the built-in library and a clinic's own.

A scenario is one JSON file (see ``docs/plugins.md``, "Role-play"). The built-ins live in
``scenarios/`` next to this module; a clinic adds its own, without code, by putting files in
the directory named by ``ALONGSIDE_SCENARIOS_DIR``. A file that does not validate is skipped
and reported (file name and the first problems), never fatal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

SCENARIOS_ENV = "ALONGSIDE_SCENARIOS_DIR"
PARTS = ("speaker", "partner")
MAX_FILE_BYTES = 256 * 1024
MAX_TURN_SECONDS = 30 * 60


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
Paragraph = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=600)]


class _Model(BaseModel):
    # A typo in a field name ("cues" for "cue") is an error, not silently dropped.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Model):
    label: Label
    about: Paragraph


class Parts(_Model):
    speaker: Part  # the person practising
    partner: Part  # the other side of the conversation


class Turn(_Model):
    who: Literal["speaker", "partner"]
    prompt: Paragraph
    suggested: list[Phrase] = Field(default_factory=list, max_length=6)
    cue: Paragraph | None = None  # for the clinician only
    seconds: int = Field(ge=1, le=MAX_TURN_SECONDS, strict=True)


class Scenario(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
    title: Title
    summary: Paragraph
    roles: Parts
    turns: list[Turn] = Field(min_length=1, max_length=60)
    reflection: Question


class ScenarioError(ValueError):
    """A scenario file that cannot be used, with a plain reason."""


def _explain(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "file"
        problems.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def parse(text: str | bytes) -> Scenario:
    """One scenario from a file's text; raises :class:`ScenarioError` with a plain reason."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file holds one JSON object")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_explain(exc)) from None
    if not any(turn.who == "speaker" for turn in scenario.turns):
        raise ScenarioError("turns: the speaker never has a turn")
    return scenario


@dataclass(frozen=True)
class Library:
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    skipped: tuple[dict[str, str], ...] = ()  # [{"file", "error"}], for the clinician

    def catalog(self) -> list[dict[str, Any]]:
        return [{"id": s.id, "title": s.title, "summary": s.summary,
                 "parts": {p: getattr(s.roles, p).label for p in PARTS},
                 "turns": len(s.turns)} for s in self.scenarios.values()]


def _read(files: list[tuple[str, Any]], into: dict[str, Scenario],
          skipped: list[dict[str, str]]) -> None:
    for name, path in files:
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_FILE_BYTES:
                raise ScenarioError(f"larger than {MAX_FILE_BYTES // 1024} KB")
            scenario = parse(raw)
            if scenario.id in into:
                raise ScenarioError(f"id {scenario.id!r} is already used by another scenario")
        except ScenarioError as exc:
            skipped.append({"file": name, "error": str(exc)})
            continue
        except OSError as exc:
            skipped.append({"file": name, "error": f"cannot be read ({exc.strerror})"})
            continue
        into[scenario.id] = scenario


def builtin_files() -> list[tuple[str, Any]]:
    folder = resources.files(__package__) / "scenarios"
    return sorted((f.name, f) for f in folder.iterdir() if f.name.endswith(".json"))


def extra_files(directory: str) -> list[tuple[str, Path]]:
    return sorted((p.name, p) for p in Path(directory).glob("*.json") if p.is_file())


class Loader:
    """The built-ins (read once) and the clinic's directory (read again when it changes)."""

    def __init__(self) -> None:
        scenarios: dict[str, Scenario] = {}
        skipped: list[dict[str, str]] = []
        _read(builtin_files(), scenarios, skipped)
        self._builtin = Library(scenarios, tuple(skipped))
        self._cached: tuple[Any, Library] | None = None

    def _signature(self, directory: str | None) -> Any:
        if not directory:
            return None
        try:
            return (directory, tuple((name, p.stat().st_mtime_ns, p.stat().st_size)
                                     for name, p in extra_files(directory)))
        except OSError:
            return (directory, "unreadable")

    def library(self, directory: str | None) -> Library:
        """The current library, with the clinic's ``directory`` (the tool's setting
        ``ALONGSIDE_SCENARIOS_DIR``, if any); cheap when nothing changed (a stat of each
        clinic file)."""
        directory = directory or None
        signature = self._signature(directory)
        cached = self._cached
        if cached is not None and cached[0] == signature:
            return cached[1]
        scenarios = dict(self._builtin.scenarios)
        skipped = list(self._builtin.skipped)
        if directory:
            if not Path(directory).is_dir():
                skipped.append({"file": SCENARIOS_ENV,
                                "error": "the scenarios directory does not exist"})
            else:
                try:
                    _read(extra_files(directory), scenarios, skipped)
                except OSError as exc:
                    skipped.append({"file": SCENARIOS_ENV,
                                    "error": f"cannot be read ({exc.strerror})"})
        library = Library(scenarios, tuple(skipped))
        self._cached = (signature, library)  # one assignment: safe across worker threads
        return library
