"""Streaming reads of legacy JSON files with ijson: memory stays flat however large a file is.

``inspect_file`` walks the whole file once without building anything: it proves the file is
complete, valid UTF-8 JSON (so a broken file imports nothing rather than half of itself) and finds
where its record lists are. ``iter_records`` then yields the records of those lists one at a time.

Both read ijson's *basic* events (no prefixes) and keep their own count of how deep the parser is.
ijson's ``parse``/``items`` build a prefix string (every key and ``item`` on the way down) for
every event and hold a buffer of them, so their memory grows with the square of the nesting: a
3 MB file nested 200,000 deep took more than 22 GB. Here a record list is recognised from the few
keys above it, a record is built only up to ``MAX_JSON_DEPTH`` levels (deeper, it is skipped by
counting and reported as a ``TooDeep``), and anything else in the file may nest only as deep:
memory is bounded by the limit, not by the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from records.recording.schema import MAX_JSON_DEPTH

# Top-level keys that hold lists of records, in any recognised file.
RECORD_LIST_KEYS = ("records", "assessments", "quality_assessments")
DEBUGGING_KEY = "detailed_metrics"
DEBUGGING_LIST = "debugging_assessments"
BOM = b"\xef\xbb\xbf"
READ_BUFFER = 256 * 1024
MSG_TOO_DEEP = f"nests lists and objects more than {MAX_JSON_DEPTH} levels deep"
# Keys copied from an over-deep record (read before its deep part), to name it in the report.
IDENTITY_KEYS = ("assessment_id", "task_id")

PROGRESS_EVENTS = 0x8000  # inspect_file reports progress about this often

_STARTS = frozenset(("start_map", "start_array"))
_ENDS = frozenset(("end_map", "end_array"))


class FileReadError(Exception):
    """The file as a whole cannot be imported; the message says why, in one line."""


@dataclass(frozen=True)
class RecordList:
    keys: tuple[str, ...]  # the keys from the top-level object down to the list; () at the top
    path: str  # for people: records, detailed_metrics["GLM 4.6"].debugging_assessments
    model_hint: str | None = None


@dataclass(frozen=True)
class TooDeep:
    """A record that nests past ``MAX_JSON_DEPTH``: read past, never built."""

    identity: dict[str, Any] = field(default_factory=dict)  # assessment_id/task_id, if seen
    reason: str = MSG_TOO_DEEP


@dataclass
class FileLayout:
    top: str  # "list" or "object"
    lists: list[RecordList] = field(default_factory=list)
    other_sections: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    top_keys: list[str] = field(default_factory=list)


def _open(path: Path) -> IO[bytes]:
    handle = open(path, "rb")  # noqa: SIM115 - closed by the callers' with-blocks
    if handle.read(3) != BOM:
        handle.seek(0)
    return handle


def _json_error(exc: Exception, position: int) -> FileReadError:
    text = str(exc)
    if isinstance(exc, ijson.IncompleteJSONError) and text.startswith("b'"):
        text = text[2:]
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    first = first.rstrip(".").replace("\\n", " ").strip()
    if "UTF8" in first or "UTF-8" in first or isinstance(exc, UnicodeDecodeError):
        return FileReadError(f"not UTF-8 text (invalid bytes near byte {position})")
    if "premature EOF" in first:
        return FileReadError(
            f"truncated JSON: the file ends in the middle of a value (byte {position})"
        )
    return FileReadError(f"invalid JSON near byte {position}: {first}")


def _record_list(keys: list[str | None]) -> RecordList | None:
    """The record list a list opened under ``keys`` is, if any.

    ``keys`` holds, for each container around the new list, the key it is under (``None`` for a
    list): ``[]`` is the top level, ``["records"]`` the list under the top-level key ``records``.
    """
    if not keys:
        return RecordList(keys=(), path="the top-level list")
    if len(keys) == 1 and keys[0] in RECORD_LIST_KEYS:
        return RecordList(keys=(keys[0],), path=keys[0])
    if len(keys) == 3 and keys[0] == DEBUGGING_KEY and keys[2] == DEBUGGING_LIST:
        model = keys[1]
        if model is not None:
            return RecordList(
                keys=(DEBUGGING_KEY, model, DEBUGGING_LIST),
                path=f"{DEBUGGING_KEY}[{model!r}].{DEBUGGING_LIST}",
                model_hint=model,
            )
    return None


def _too_deep_outside(handle: IO[bytes]) -> FileReadError:
    return FileReadError(
        f"{MSG_TOO_DEEP} outside its records (near byte {handle.tell()}); only records are "
        "read, and nothing else in a legacy file nests like that"
    )


def _scan(
    handle: IO[bytes],
    layout: FileLayout,
    *,
    build: bool,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[RecordList, int, Any]]:
    """Walk the file's events once; fill ``layout``; with ``build``, yield each record.

    Outside records the walk keeps one key per open container (at most ``MAX_JSON_DEPTH``: deeper
    is a ``FileReadError``). Inside a record it only counts (checking) or builds up to the limit.
    """
    events = ijson.basic_parse(handle, use_float=True, buf_size=READ_BUFFER)
    keys: list[str | None] = []  # per open container outside records: its current key
    current: RecordList | None = None  # the record list being read
    list_depth = 0  # len(keys) inside ``current``
    index = 0
    seen = 0  # events, counted only to report progress
    next_report = PROGRESS_EVENTS
    for event, value in events:
        if on_progress is not None:
            seen += 1
            if seen >= next_report:
                next_report = seen + PROGRESS_EVENTS
                on_progress(handle.tell())
        if current is not None and len(keys) == list_depth and event != "end_array":
            # An item of a record list: one record (or something that is not one).
            if build:
                if event in _STARTS:
                    value = _build(events, event)
                yield current, index, value
            elif event in _STARTS:
                seen += _skip(events, depth=1)  # the parser checks its syntax; nothing is kept
            index += 1
            continue
        if event == "map_key":
            keys[-1] = value
            if len(keys) == 1:
                layout.top_keys.append(value)
        elif event in _STARTS:
            if not layout.top:
                layout.top = "list" if event == "start_array" else "object"
            if len(keys) >= MAX_JSON_DEPTH:
                raise _too_deep_outside(handle)
            if event == "start_array":
                found = _record_list(keys)
                if found is not None:
                    current, list_depth, index = found, len(keys) + 1, 0
                    layout.lists.append(found)
            keys.append(None)
        elif event in _ENDS:
            if current is not None and len(keys) == list_depth:
                current = None
            keys.pop()
        elif not layout.top:
            raise FileReadError(f"the file holds a single {event} value, not an object or a list")


def _build(events: Iterator[tuple[str, Any]], first: str) -> Any:
    """The record that ``first`` opened, built from the events up to its end.

    A ``TooDeep`` instead when it nests past ``MAX_JSON_DEPTH`` (the record counts as level 1, as
    in ``json_too_deep``): what was built is dropped and the rest is only counted through.
    """
    root: Any = {} if first == "start_map" else []
    stack = [root]
    key = None
    for event, value in events:
        if event == "map_key":
            key = value  # in an object every value follows its key: one variable serves
        elif event == "start_map" or event == "start_array":
            if len(stack) >= MAX_JSON_DEPTH:
                identity = (
                    {k: root[k] for k in IDENTITY_KEYS if k in root}
                    if isinstance(root, dict)
                    else {}
                )
                stack.clear()
                _skip(events, depth=MAX_JSON_DEPTH + 1)
                return TooDeep(identity=identity)
            child: Any = {} if event == "start_map" else []
            parent = stack[-1]
            if type(parent) is list:
                parent.append(child)
            else:
                parent[key] = child
            stack.append(child)
        elif event == "end_map" or event == "end_array":
            stack.pop()
            if not stack:
                return root
        else:
            parent = stack[-1]
            if type(parent) is list:
                parent.append(value)
            else:
                parent[key] = value
    raise FileReadError("truncated JSON: the file ends in the middle of a record")


def _skip(events: Iterator[tuple[str, Any]], *, depth: int) -> int:
    """Read past the rest of a value ``depth`` containers deep, keeping nothing; the events read."""
    seen = 0
    for event, _value in events:
        seen += 1
        if event in _STARTS:
            depth += 1
        elif event in _ENDS:
            depth -= 1
            if not depth:
                break
    return seen


def inspect_file(path: Path, on_progress: Callable[[int], None] | None = None) -> FileLayout:
    """Validate the whole file and find its record lists; raise ``FileReadError`` if unusable.

    ``on_progress`` is told the bytes read so far every few thousand JSON events.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
    if size == 0:
        raise FileReadError("empty file (0 bytes)")
    layout = FileLayout(top="")
    try:
        with _open(path) as handle:
            try:
                for _ in _scan(handle, layout, build=False, on_progress=on_progress):
                    pass
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                if not layout.top and _only_whitespace(path):
                    raise FileReadError("empty file (whitespace only)") from exc
                raise _json_error(exc, handle.tell()) from exc
    except OSError as exc:
        raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
    listed = {record_list.keys[0] for record_list in layout.lists if record_list.keys}
    for key in layout.top_keys:
        if key in RECORD_LIST_KEYS and key not in listed:
            layout.notes.append(f"{key!r} is not a list; nothing read from it")
        elif key not in RECORD_LIST_KEYS and not (
            key == DEBUGGING_KEY and listed - set(RECORD_LIST_KEYS)
        ):
            layout.other_sections.append(key)
    return layout


def _only_whitespace(path: Path) -> bool:
    with _open(path) as handle:
        while chunk := handle.read(READ_BUFFER):
            if chunk.strip():
                return False
    return True


def iter_records(path: Path) -> Iterator[tuple[RecordList, int, Any, int]]:
    """(record list, index in that list, payload, bytes read so far) for every record of every
    record list of the file, in file order; the payload is a ``TooDeep`` for an over-deep one."""
    try:
        handle = _open(path)
    except OSError as exc:
        raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        try:
            for record_list, index, payload in _scan(handle, FileLayout(top=""), build=True):
                yield record_list, index, payload, handle.tell()
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            # Only when the file changed since inspect_file read it.
            raise _json_error(exc, handle.tell()) from exc
        except OSError as exc:
            raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
