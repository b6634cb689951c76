"""Streaming reads of legacy JSON files with ijson: memory stays flat however large a file is.

``inspect_file`` walks the whole file once without building anything: it proves the file is
complete, valid UTF-8 JSON (so a broken file imports nothing rather than half of itself) and finds
where its record lists are. ``iter_records`` then yields the records of those lists one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

# Top-level keys that hold lists of records, in any recognised file.
RECORD_LIST_KEYS = ("records", "assessments", "quality_assessments")
DEBUGGING_KEY = "detailed_metrics"
DEBUGGING_LIST = "debugging_assessments"
BOM = b"\xef\xbb\xbf"
READ_BUFFER = 256 * 1024


class FileReadError(Exception):
    """The file as a whole cannot be imported; the message says why, in one line."""


@dataclass(frozen=True)
class RecordList:
    prefix: str  # ijson prefix of the list's items
    path: str  # for people: records, detailed_metrics["GLM 4.6"].debugging_assessments
    model_hint: str | None = None


@dataclass
class FileLayout:
    top: str  # "list" or "object"
    lists: list[RecordList] = field(default_factory=list)
    other_sections: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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
    top_keys: list[str] = []
    lists: list[RecordList] = []
    model: str | None = None
    top = ""
    try:
        with _open(path) as handle:
            try:
                events = ijson.parse(handle, buf_size=READ_BUFFER)
                seen = 0
                for prefix, event, value in events:
                    seen += 1
                    if on_progress is not None and not seen & 0x7FFF:
                        on_progress(handle.tell())
                    if not top:
                        if event == "start_array":
                            top = "list"
                            lists.append(RecordList(prefix="item", path="the top-level list"))
                            continue
                        if event == "start_map":
                            top = "object"
                            continue
                        raise FileReadError(
                            f"the file holds a single {event} value, not an object or a list"
                        )
                    if event == "map_key":
                        if prefix == "":
                            top_keys.append(value)
                        elif prefix == DEBUGGING_KEY:
                            model = value
                    elif event == "start_array":
                        if prefix in RECORD_LIST_KEYS:
                            lists.append(RecordList(prefix=f"{prefix}.item", path=prefix))
                        elif (
                            model is not None
                            and prefix == f"{DEBUGGING_KEY}.{model}.{DEBUGGING_LIST}"
                        ):
                            lists.append(
                                RecordList(
                                    prefix=f"{prefix}.item",
                                    path=f"{DEBUGGING_KEY}[{model!r}].{DEBUGGING_LIST}",
                                    model_hint=model,
                                )
                            )
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                if not top and _only_whitespace(path):
                    raise FileReadError("empty file (whitespace only)") from exc
                raise _json_error(exc, handle.tell()) from exc
    except OSError as exc:
        raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
    layout = FileLayout(top=top, lists=lists)
    listed = {record_list.prefix.split(".")[0] for record_list in lists}
    for key in top_keys:
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


def iter_records(path: Path, record_list: RecordList) -> Iterator[tuple[int, Any, int]]:
    """(index in the list, payload, bytes read so far) for each item of one record list."""
    try:
        handle = _open(path)
    except OSError as exc:
        raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        try:
            items = ijson.items(handle, record_list.prefix, use_float=True, buf_size=READ_BUFFER)
            for index, payload in enumerate(items):
                yield index, payload, handle.tell()
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            # Only when the file changed since inspect_file read it.
            raise _json_error(exc, handle.tell()) from exc
        except OSError as exc:
            raise FileReadError(f"cannot read: {exc.strerror or exc}") from exc
