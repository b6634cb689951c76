"""Legacy import: the old tool's ``.claude-patterns`` JSON files into TaskRecords.

- ``discovery``: PATH arguments -> the files to read, in order.
- ``reading``: streaming (ijson) validation and record extraction, memory flat; nesting is
  counted while parsing, so memory is bounded by ``MAX_JSON_DEPTH``, not by the file.
- ``normalise``: one payload -> one ``LegacyTask`` (pure).
- ``merge``: sources of one identity -> stored field values (pure).
- ``writer``: ``apply_batch``, the one function that writes imported records.
- ``service``: ``legacy_import``, the whole run, kept as an ``ImportRun`` row.
- ``recovery``: runs whose process is gone: finish their recomputation, mark them interrupted.
- ``printable``: text from files escaped for output and stored messages.
- ``report``: the per-file table and summary lines.
"""
