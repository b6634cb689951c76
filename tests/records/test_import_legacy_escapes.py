"""What import_legacy prints and stores shows control characters from files; it never sends them.

A record id, a value, a section key or a file name holding ESC/CSI sequences, C1 controls or bidi
overrides reached the operator's terminal as they were (clearing it, retitling it, reordering
lines), and a file name that is not UTF-8 could not be printed at all. They are now written as
escapes (``\\x1b``, ``\\u202e``, ``\\udcff``) in the output, the command's error and the ImportRun.
"""

from __future__ import annotations

import json
import os
import unicodedata
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from records.models import ImportRun, TaskRecord
from tests.records.legacy_helpers import (
    assessment,
    patterns_dir,
    quality_history,
    run_failing_import,
    write_json,
)

pytestmark = pytest.mark.django_db

CLEAR_SCREEN = "\x1b[2J"
RETITLE = "\x1b]0;owned\x07"
RTL_OVERRIDE = "\u202e"
C1_CSI = "\x9b"


def unsafe(text: str) -> set[str]:
    """The characters of ``text`` a terminal (or the admin) would obey rather than show."""
    return {
        char
        for char in text
        if char != "\n" and unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs"}
    }


@pytest.fixture
def hostile_folder(tmp_path):
    folder = patterns_dir(tmp_path / "project")
    history = quality_history(
        assessment(
            f"id{CLEAR_SCREEN}{RETITLE}", timestamp=f"{CLEAR_SCREEN}last tuesday{RTL_OVERRIDE}"
        ),
        assessment(f"rtl{RTL_OVERRIDE}gpj.exe", overall_score=150),  # clamped: a warning
        assessment("fine-1"),
    )
    history[f"{C1_CSI}5m\u2066section"] = {}
    write_json(folder / "quality_history.json", history)
    write_json(folder / f"notes{CLEAR_SCREEN}{RTL_OVERRIDE}.json", {})  # skipped, named
    # A file name that is not UTF-8: Python holds its byte as a lone surrogate.
    with open(os.path.join(os.fsencode(folder), b"bad\xff.json"), "w") as handle:
        handle.write("{}")
    return folder


def test_controls_from_files_are_printed_as_escapes(hostile_folder):
    result = run_failing_import(hostile_folder)

    assert unsafe(result.out) == set()
    assert unsafe(result.err) == set()
    assert unsafe(result.error) == set()
    assert (
        "record 0 (quality_assessments; assessment_id id\\x1b[2J\\x1b]0;owned\\x07): "
        'timestamp: unreadable timestamp "\\u001b[2Jlast tuesday\\u202e"'
    ) in result.err
    assert "assessment_id rtl\\u202egpj.exe" in result.err  # the clamped score's warning
    assert "\\x9b5m\\u2066section" in result.out  # a section that is not records
    assert "notes\\x1b[2J\\u202e.json" in result.out
    assert "bad\\udcff.json" in result.out
    assert "id\\x1b[2J" in result.error  # the first error, in the command's one line
    # The records themselves keep their ids as given; only the messages escape them.
    assert TaskRecord.objects.filter(record_id=f"rtl{RTL_OVERRIDE}gpj.exe").exists()


def test_the_import_run_stores_escaped_messages(hostile_folder):
    run_failing_import(hostile_folder)

    run = ImportRun.objects.get()
    stored = json.dumps([run.paths, run.files, run.errors], ensure_ascii=False)
    assert unsafe(stored) == set()
    assert "\\\\x1b[2J" in stored  # the escape itself, as text (JSON doubles the backslash)
    assert "bad\\\\udcff.json" in stored
    assert run.failed == 1


def test_the_progress_bar_escapes_the_file_names(hostile_folder, tmp_path):
    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    named = hostile_folder / f"evil{CLEAR_SCREEN}.json"
    write_json(named, {"records": [assessment("fine-2")]})
    out = Terminal()

    with pytest.raises(CommandError):
        call_command(
            "import_legacy", str(hostile_folder), str(named), stdout=out, stderr=StringIO()
        )

    # The bar's own redraw ("\r" and erase-line) is the only control sequence written.
    text = out.getvalue().replace("\r\x1b[K", "")
    assert unsafe(text) == set()
    assert "evil\\x1b[2J.json" in text
