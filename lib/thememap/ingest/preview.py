"""The first rows of an input file, read as a run would, without touching a store.

``thememap check`` uses it to prove that the file parses, that every field the params
name is in it, and to show a few rows before a long run starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from thememap.errors import BadRow, InputError
from thememap.ingest.load import open_input
from thememap.ingest.params import InputParams
from thememap.ingest.rows import Item, RowError, make_item


@dataclass
class InputPreview:
    """What the first rows of an input file hold."""

    file: Path
    format: str
    fields: list[str]  # every field seen in the rows read, in first-seen order
    rows: int  # rows read
    items: list[Item] = field(default_factory=list)  # the good ones
    bad: list[BadRow] = field(default_factory=list)


def named_fields(params: InputParams) -> list[tuple[str, str]]:
    """``(key, field)`` for every input field the params name, e.g. ``("input.id_field", "id")``."""
    named = [
        ("input.text_field", params.text_field),
        ("input.id_field", params.id_field),
        ("input.created_at_field", params.created_at_field),
        ("input.title_field", params.title_field),
        *(("input.context_fields", name) for name in params.context_fields),
    ]
    if params.metadata_fields != "all":
        named += [("input.metadata_fields", name) for name in params.metadata_fields]
    return [(key, name) for key, name in named if name]


def preview_input(params: InputParams, path: Path, *, rows: int = 200) -> InputPreview:
    """Read up to ``rows`` rows of ``path`` with ``params``.

    Raises :class:`InputError` (one line) when the file is missing or unreadable, when
    none of those rows parses, when a field the params name is in none of them, or when
    none of them would load (the reason of the first bad row is given).
    """
    fmt, records = open_input(path, params)
    preview = InputPreview(path, fmt, fields=[], rows=0)
    parsed: list[tuple[int, dict[str, Any]]] = []
    for record in islice(records, rows):
        preview.rows += 1
        if record.fields is None:
            preview.bad.append(BadRow(str(path), record.line, record.error or "unreadable"))
        else:
            parsed.append((record.line, record.fields))
            preview.fields += [k for k in record.fields if k not in preview.fields]
    if preview.rows == 0:
        raise InputError(f"{path}: no rows (is the file empty?)")
    if not parsed:
        first = preview.bad[0]
        raise InputError(
            f"{path}: none of the first {preview.rows} rows can be read as {fmt} "
            f"(line {first.line}: {first.reason})"
        )
    for key, name in named_fields(params):
        if name not in preview.fields:
            raise InputError(
                f"{path}: {key} {name!r} is not a field of the file "
                f"(fields: {', '.join(preview.fields)})"
            )
    for line, fields in parsed:
        try:
            preview.items.append(make_item(fields, line=line, file_name=path.name, params=params))
        except RowError as err:
            preview.bad.append(BadRow(str(path), line, err.reason, err.item_id))
    if not preview.items:
        raise InputError(
            f"{path}: none of the first {preview.rows} rows would load ({preview.bad[0]})"
        )
    preview.bad.sort(key=lambda row: row.line)
    return preview
