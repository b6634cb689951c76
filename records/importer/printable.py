"""Text from files made safe to print and to store in messages: controls shown, not obeyed.

File names and contents reach the import's output (and the messages an ImportRun keeps): an ESC
in a record id would drive the operator's terminal (clear it, retitle it, hide lines), a bidi
override would reorder what the report and the admin show, and a file name that is not UTF-8
(Python keeps its bytes as lone surrogates) cannot be written to a UTF-8 terminal or to
PostgreSQL at all. ``printable`` spells every such character as a Python escape (``\\x1b``,
``\\u202e``, ``\\udcff``), leaving all other text, non-ASCII letters included, as it is.
"""

from __future__ import annotations

import unicodedata

# Unicode categories shown as escapes: controls (C0, DEL, C1), format characters (bidi embeddings,
# overrides and isolates, zero-width characters, the BOM), line and paragraph separators, and
# surrogates (undecodable bytes of a file name).
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """``text`` with its control, format and separator characters written as escapes."""
    if text.isprintable():  # the common case: nothing to escape (isprintable is stricter)
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if unicodedata.category(char) not in ESCAPED_CATEGORIES:
        return char  # e.g. a no-break space: not printable by str's rule, harmless on a terminal
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
