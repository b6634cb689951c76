"""Which files an import reads: PATH arguments -> an ordered list of ``LegacyFile``.

A PATH may be a ``.claude-patterns`` (or ``.claude-quality``) directory, any directory holding
such directories at any depth (a project, a folder of projects), or single JSON files. Inside a
patterns directory only its own files are read (not ``backups/`` and the like). File names decide
what a file is; a directory's unknown JSON files are skipped with a message, while a JSON file
named explicitly on the command line is read if it holds legacy record lists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from records.importer.restore import is_export

LEGACY_PREFIX = "legacy:"  # records.source of imported records: legacy:<folder>/<file>
PATTERN_DIRS = (".claude-patterns", ".claude-quality")
# Directories never searched for patterns directories.
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox"}


class Kind(StrEnum):
    PERFORMANCE_RECORDS = "performance records"
    ASSESSMENTS = "assessments"
    QUALITY_HISTORY = "quality history"
    DEBUGGING = "debugging performance"
    EXPORT = "perfsite export"  # JSON Lines written by export_records: restored as exported
    OTHER_JSON = "JSON file"  # named explicitly; read if it holds legacy record lists
    AGGREGATE = "aggregate"
    NOT_RECORDS = "not performance data"
    UNKNOWN = "unknown"
    MISSING = "missing"


READ_KINDS = {
    Kind.EXPORT,
    Kind.PERFORMANCE_RECORDS,
    Kind.ASSESSMENTS,
    Kind.QUALITY_HISTORY,
    Kind.DEBUGGING,
    Kind.OTHER_JSON,
}
# Read first: the richest record stores, then the analyses that repeat their records. The first
# source to give a value wins a conflict, later ones fill gaps.
_ORDER = {
    Kind.EXPORT: -1,  # Perfsite's own records first: legacy files then merge into them
    Kind.PERFORMANCE_RECORDS: 0,
    Kind.ASSESSMENTS: 1,
    Kind.QUALITY_HISTORY: 2,
    Kind.DEBUGGING: 3,
    Kind.OTHER_JSON: 4,
}
_NAMED = {
    "performance_records.json": Kind.PERFORMANCE_RECORDS,
    "assessments.json": Kind.ASSESSMENTS,
    "quality_history.json": Kind.QUALITY_HISTORY,
}
AGGREGATES = {
    "model_performance.json": "per-model summary scores",
    "agent_metrics.json": "per-agent summary metrics",
    "skill_metrics.json": "per-skill summary metrics",
}
NOT_RECORDS = {
    "patterns.json": "learned patterns, not performance records",
}


@dataclass(frozen=True)
class LegacyFile:
    path: Path
    display: str  # as the user will recognise it, relative to the PATH given
    source: str  # "legacy:<folder>/<file>", stored on records; the same wherever the folder lives
    kind: Kind
    note: str = ""

    @property
    def readable(self) -> bool:
        return self.kind in READ_KINDS


def classify_file(name: str, *, explicit: bool, path: Path | None = None) -> tuple[Kind, str]:
    lowered = name.lower()
    if lowered.endswith(".jsonl"):
        if explicit or (path is not None and is_export(path)):
            return Kind.EXPORT, ""  # named explicitly: its header is checked when it is read
        return Kind.UNKNOWN, "skipped: JSON Lines without the perfsite_export header"
    if lowered in _NAMED:
        return _NAMED[lowered], ""
    if lowered.startswith("debugging_performance") and lowered.endswith(".json"):
        return Kind.DEBUGGING, ""
    if lowered in AGGREGATES:
        return (
            Kind.AGGREGATE,
            f"aggregate ({AGGREGATES[lowered]}); recognised, not turned into records",
        )
    if lowered in NOT_RECORDS:
        return Kind.NOT_RECORDS, f"skipped: {NOT_RECORDS[lowered]}"
    if explicit:
        return Kind.OTHER_JSON, ""
    return Kind.UNKNOWN, "skipped: not a legacy performance file"


def _legacy_file(path: Path, display_root: Path, *, explicit: bool) -> LegacyFile:
    kind, note = classify_file(path.name, explicit=explicit, path=path)
    try:
        display = str(path.relative_to(display_root))
    except ValueError:
        display = str(path)
    return LegacyFile(
        path=path,
        display=display,
        source=f"{LEGACY_PREFIX}{path.parent.name}/{path.name}"
        if path.parent.name
        else f"{LEGACY_PREFIX}{path.name}",
        kind=kind,
        note=note,
    )


def _directory_files(
    directory: Path, display_root: Path, *, list_others: bool = False
) -> list[LegacyFile]:
    """The folder's JSON files in reading order; with ``list_others``, then everything else."""
    entries = sorted(directory.iterdir(), key=lambda p: p.name)
    found = [
        _legacy_file(entry, display_root, explicit=False)
        for entry in entries
        if entry.is_file()
        and (
            entry.suffix.lower() == ".json"
            or (entry.suffix.lower() == ".jsonl" and is_export(entry))
        )
    ]
    found.sort(key=lambda f: (_ORDER.get(f.kind, 9), f.path.name))
    if list_others:
        for entry in entries:
            if entry.is_dir():
                note = "skipped: a subfolder; only the patterns folder's own files are read"
            elif entry.suffix.lower() == ".jsonl" and not is_export(entry):
                note = "skipped: JSON Lines without the perfsite_export header"
            elif entry.suffix.lower() not in (".json", ".jsonl"):
                note = "skipped: not a JSON file"
            else:
                continue
            legacy_file = _legacy_file(entry, display_root, explicit=False)
            found.append(
                LegacyFile(
                    path=entry,
                    display=legacy_file.display + ("/" if entry.is_dir() else ""),
                    source="",
                    kind=Kind.UNKNOWN,
                    note=note,
                )
            )
    return found


def _pattern_dirs(root: Path) -> list[Path]:
    found: list[Path] = []
    for current, dirnames, _filenames in os.walk(root):
        dirnames.sort()
        keep = []
        for name in dirnames:
            if name in PATTERN_DIRS:
                found.append(Path(current) / name)  # read, but not searched further
            elif name not in SKIP_DIRS:
                keep.append(name)
        dirnames[:] = keep
    return found


def discover(paths: list[str]) -> list[LegacyFile]:
    """Every file the import will look at, in the order it reads them.

    A PATH that does not exist, cannot be listed or holds nothing legacy becomes a ``MISSING``
    entry, which the import reports as a failure.
    """
    files: list[LegacyFile] = []
    seen: set[Path] = set()
    for raw in paths:
        try:
            found = _discover_path(raw)
        except OSError as exc:
            found = [_missing(raw, f"cannot read: {exc.strerror or exc}")]
        for legacy_file in found:
            if legacy_file.kind == Kind.MISSING:
                files.append(legacy_file)
                continue
            key = legacy_file.path.resolve()
            if key not in seen:
                seen.add(key)
                files.append(legacy_file)
    return files


def _missing(raw: str, note: str) -> LegacyFile:
    return LegacyFile(path=Path(raw), display=str(raw), source="", kind=Kind.MISSING, note=note)


def _discover_path(raw: str) -> list[LegacyFile]:
    path = Path(raw).expanduser()
    display_root = path.absolute().parent
    if not path.exists():
        return [_missing(raw, "no such file or directory")]
    if path.is_file():
        return [_legacy_file(path.absolute(), display_root, explicit=True)]
    directory = path.absolute()
    if directory.name in PATTERN_DIRS:
        directories = [directory]
    else:
        # A folder that holds the files itself (a renamed copy) counts as a patterns folder.
        own = [f for f in _directory_files(directory, display_root) if f.kind != Kind.UNKNOWN]
        directories = ([directory] if own else []) + _pattern_dirs(directory)
    if not directories:
        return [_missing(raw, "no .claude-patterns directory or legacy JSON file found here")]
    return [
        legacy_file
        for folder in directories
        for legacy_file in _directory_files(
            folder, display_root, list_others=folder.name in PATTERN_DIRS
        )
    ]
